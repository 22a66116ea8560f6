// Upstreams for the slow-backend and config-latency sections, in a process of
// their own: one tiny HTTP server per loopback address, all on one port (as the
// pods behind one EndpointSlice port), naming themselves in `x-upstream`.
// One of them can answer late, its delay counted from the moment the request arrived;
// `GET /__bench/slow-ms/N` on any of them changes that delay (0: all fast).
// Usage: node bench/upstream-servers.ts --hosts 127.0.0.31,127.0.0.32 [--slow 127.0.0.32 --slow-ms 50]
// prints {"port":N} once every server listens.
import http from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { hosts: { type: "string" }, slow: { type: "string" }, "slow-ms": { type: "string", default: "0" } } });
const hosts = (values.hosts ?? "127.0.0.1").split(",");
let slowMs = Number(values["slow-ms"]);
const CONTROL = /^\/__bench\/slow-ms\/([0-9]+)$/;

function serverFor(host: string): http.Server {
  const headers = { "content-type": "text/plain", "content-length": "3", "x-upstream": host };
  return http.createServer((req, res) => {
    const arrived = performance.now();
    const answer = (): void => {
      res.writeHead(200, headers);
      res.end("ok\n");
    };
    req.resume();
    const control = CONTROL.exec(req.url ?? "");
    if (control) slowMs = Number(control[1]);
    const delayMs = host === values.slow ? slowMs : 0;
    if (delayMs === 0 || control) return answer();
    setTimeout(answer, Math.max(0, delayMs - (performance.now() - arrived)));
  });
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

const [first = "127.0.0.1", ...rest] = hosts;
const port = await listen(serverFor(first), first, 0);
for (const host of rest) await listen(serverFor(host), host, port);
console.log(JSON.stringify({ port }));
process.on("SIGTERM", () => process.exit(0));
