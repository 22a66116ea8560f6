// nginx for the benchmarks, in a temp dir of its own (`nginx -p DIR -c DIR/nginx.conf`,
// daemon off, one worker): as a static upstream answering `return 200`, or as the
// reverse proxy turnout is compared with (upstream keepalive, HTTP/1.1, no access log).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Child, httpStatus, treeCpuSeconds, waitFor } from "./processes.ts";

export type NginxBalance = "round-robin" | "least_conn";

/** `listen` lines of a static server answering a tiny 200 on every address. */
export function staticUpstreamConfig(addresses: readonly string[], port: number): string {
  const listens = addresses.map((a) => `    listen ${a}:${port};`).join("\n");
  return `  server {\n${listens}\n    location / { return 200 "ok\\n"; }\n  }`;
}

/** A reverse proxy on 127.0.0.1:`port` to `upstreams` ("host:port"), as turnout would forward. */
export function reverseProxyConfig(port: number, upstreams: readonly string[], balance: NginxBalance): string {
  return [
    "  upstream backend {",
    ...(balance === "least_conn" ? ["    least_conn;"] : []),
    ...upstreams.map((u) => `    server ${u};`),
    "    keepalive 256;",
    "    keepalive_requests 1000000;",
    "  }",
    "  server {",
    `    listen 127.0.0.1:${port};`,
    "    location / {",
    "      proxy_pass http://backend;",
    "      proxy_http_version 1.1;",
    '      proxy_set_header Connection "";',
    "      proxy_set_header Host $host;",
    "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "      proxy_set_header X-Forwarded-Proto $scheme;",
    "    }",
    "  }",
  ].join("\n");
}

function mainConfig(dir: string, httpBlock: string): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpBlock}
}
`;
}

export class Nginx {
  readonly #child: Child;
  readonly #dir: string;

  private constructor(child: Child, dir: string) {
    this.#child = child;
    this.#dir = dir;
  }

  /** Starts nginx with `httpBlock` inside `http {}` and waits until `probePort` on `probeHost` answers. */
  static async start(binary: string, name: string, httpBlock: string, probeHost: string, probePort: number): Promise<Nginx> {
    const dir = mkdtempSync(join(tmpdir(), `turnout-bench-${name}-`));
    writeFileSync(join(dir, "nginx.conf"), mainConfig(dir, httpBlock));
    const child = new Child(`nginx (${name})`, binary, ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")]);
    const nginx = new Nginx(child, dir);
    try {
      await waitFor(async () => {
        if (!child.running) throw new Error(`nginx (${name}) exited: ${child.output}`);
        return (await httpStatus(probePort, "/", probeHost)) !== 0;
      }, 10_000, `nginx (${name}) to listen`);
    } catch (error) {
      await nginx.stop();
      throw error;
    }
    return nginx;
  }

  /** CPU seconds used by the master and its worker. */
  cpuSeconds(): number {
    return treeCpuSeconds(this.#child.pid);
  }

  get pid(): number {
    return this.#child.pid;
  }

  async stop(): Promise<void> {
    await this.#child.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
