// Process entry of the Kubernetes API test server: flags -> credentials -> server; prints
// one JSON line ({ port, url, kubeconfigPath, token, caFile }) on stdout once it listens.

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { generateSelfSignedCert, randomToken, writeKubeconfig } from "./credentials.ts";
import { loadRbacFile } from "./rbac.ts";
import { createApiServer } from "./server.ts";

const USAGE = `usage: node e2e/kube-api-server/main.ts [--port 0] [--host 127.0.0.1] [--state-dir DIR]
  [--kubeconfig PATH] [--token TOKEN] [--rbac-file FILE] [--bookmark-interval-ms 1000]
  [--bookmarks requested|always|never] [--history-limit 10000] [--exit-with-stdin] [--verbose]`;

const flagsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(0),
  host: z.string().default("127.0.0.1"),
  "state-dir": z.string().optional(),
  kubeconfig: z.string().optional(),
  token: z.string().min(1).optional(),
  "rbac-file": z.string().optional(),
  "bookmark-interval-ms": z.coerce.number().int().positive().default(1000),
  bookmarks: z.enum(["requested", "always", "never"]).default("requested"),
  "history-limit": z.coerce.number().int().positive().default(10_000),
  "exit-with-stdin": z.boolean().default(false),
  verbose: z.boolean().default(false),
});

function parseFlags(argv: string[]): z.infer<typeof flagsSchema> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "state-dir": { type: "string" },
      kubeconfig: { type: "string" },
      token: { type: "string" },
      "rbac-file": { type: "string" },
      "bookmark-interval-ms": { type: "string" },
      bookmarks: { type: "string" },
      "history-limit": { type: "string" },
      "exit-with-stdin": { type: "boolean" },
      verbose: { type: "boolean" },
    },
    strict: true,
  });
  const result = flagsSchema.safeParse(values);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("\n  ");
    throw new Error(`invalid flags:\n  ${problems}\n${USAGE}`);
  }
  return result.data;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const ownStateDir = flags["state-dir"] === undefined;
  const stateDir = ownStateDir ? await mkdtemp(join(tmpdir(), "kube-api-server-")) : resolve(flags["state-dir"] ?? ".");
  await mkdir(stateDir, { recursive: true });
  const rbacFile = flags["rbac-file"];
  const policy = rbacFile === undefined ? undefined : await loadRbacFile(rbacFile);
  const tls = await generateSelfSignedCert(stateDir, flags.host);
  const token = flags.token ?? randomToken();
  const server = createApiServer({
    tls,
    token,
    bookmarks: flags.bookmarks,
    bookmarkIntervalMs: flags["bookmark-interval-ms"],
    historyLimit: flags["history-limit"],
    ...(policy === undefined ? {} : { policy }),
    ...(flags.verbose ? { log: (line: string) => process.stderr.write(`kube-api-server: ${line}\n`) } : {}),
  });
  const port = await server.listen(flags.port, flags.host);
  const url = `https://${flags.host}:${port}`;
  const kubeconfigPath = resolve(flags.kubeconfig ?? join(stateDir, "kubeconfig"));
  await writeKubeconfig(kubeconfigPath, { server: url, caPem: tls.cert, token });

  let stopping = false;
  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (flags["exit-with-stdin"]) process.stdin.destroy();
    await server.close();
    if (ownStateDir) await rm(stateDir, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    shutdown().catch((error: unknown) => {
      process.stderr.write(`kube-api-server: shutdown failed: ${String(error)}\n`);
      process.exitCode = 1;
    });
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  if (flags["exit-with-stdin"]) {
    // The parent holds our stdin open; when it goes away, so do we.
    process.stdin.on("end", onSignal);
    process.stdin.on("close", onSignal);
    process.stdin.resume();
  }
  process.stdout.write(`${JSON.stringify({ port, url, kubeconfigPath, token, caFile: tls.certPath, stateDir })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`kube-api-server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
