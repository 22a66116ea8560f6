// Test-side lifecycle of the API test server: spawns main.ts as a child process with the
// running Node, waits for its JSON ready line, and hands back URL, kubeconfig and a client.

import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import { KubeTestClient } from "./client.ts";

export * from "./client.ts";

export interface StartKubeApiServerOptions {
  /** Bookmark period for watches that get bookmarks (default 1000 ms). */
  bookmarkIntervalMs?: number;
  /** "requested" (default, as Kubernetes): only for allowWatchBookmarks=true. */
  bookmarks?: "requested" | "always" | "never";
  /** Events kept for resuming watches (default 10000). */
  historyLimit?: number;
  /** ClusterRole/Role objects (YAML or JSON) to enforce from the start. */
  rbacFile?: string;
  token?: string;
  /** Where cert, key and kubeconfig go; default a temp dir the server removes when it exits. */
  stateDir?: string;
  /** Log every request to this process's stderr. */
  verbose?: boolean;
  startTimeoutMs?: number;
}

export interface KubeApiServerHandle {
  url: string;
  port: number;
  kubeconfigPath: string;
  token: string;
  /** PEM of the self-signed server certificate (the CA to trust). */
  ca: string;
  caFile: string;
  stateDir: string;
  client: KubeTestClient;
  /** Terminates the server (SIGTERM, then SIGKILL after 5 s); the server removes its temp state dir. */
  stop(): Promise<void>;
}

const readyLineSchema = z.object({
  port: z.number(),
  url: z.string(),
  kubeconfigPath: z.string(),
  token: z.string(),
  caFile: z.string(),
  stateDir: z.string(),
});

const MAIN_PATH = join(import.meta.dirname, "main.ts");

function flagsFor(options: StartKubeApiServerOptions): string[] {
  const flags = ["--port", "0", "--exit-with-stdin"];
  if (options.stateDir !== undefined) flags.push("--state-dir", options.stateDir);
  if (options.bookmarkIntervalMs !== undefined) flags.push("--bookmark-interval-ms", String(options.bookmarkIntervalMs));
  if (options.bookmarks !== undefined) flags.push("--bookmarks", options.bookmarks);
  if (options.historyLimit !== undefined) flags.push("--history-limit", String(options.historyLimit));
  if (options.rbacFile !== undefined) flags.push("--rbac-file", options.rbacFile);
  if (options.token !== undefined) flags.push("--token", options.token);
  if (options.verbose === true) flags.push("--verbose");
  return flags;
}

export async function startKubeApiServer(options: StartKubeApiServerOptions = {}): Promise<KubeApiServerHandle> {
  // stdin stays open as a lifeline: if this process dies, the server sees EOF and exits.
  const child = spawn(process.execPath, [MAIN_PATH, ...flagsFor(options)], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    if (options.verbose === true) process.stderr.write(chunk);
    stderr = (stderr + chunk).slice(-8000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    }
    child.stdin.destroy();
  };

  const ready = await new Promise<z.infer<typeof readyLineSchema>>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const fail = (message: string): void => {
      clearTimeout(timer);
      lines.close();
      reject(new Error(`${message}${stderr === "" ? "" : `\nserver stderr:\n${stderr}`}`));
    };
    const timer = setTimeout(() => fail("the Kubernetes API test server did not start in time"), options.startTimeoutMs ?? 15_000);
    child.once("error", (error) => fail(`could not start the Kubernetes API test server: ${error.message}`));
    child.once("exit", (code, signal) => fail(`the Kubernetes API test server exited before it was ready (code ${code}, signal ${signal})`));
    lines.once("line", (line) => {
      clearTimeout(timer);
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = undefined;
      }
      const parsed = readyLineSchema.safeParse(value);
      if (parsed.success) resolve(parsed.data);
      else fail(`unexpected first line from the Kubernetes API test server: ${line}`);
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });

  const ca = await readFile(ready.caFile, "utf8");
  const client = new KubeTestClient({ url: ready.url, token: ready.token, ca });
  return {
    ...ready,
    ca,
    client,
    stop: async () => {
      client.close();
      await stop();
    },
  };
}
