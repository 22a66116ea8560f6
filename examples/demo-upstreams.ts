// Small demo upstreams for the bundled examples: each answers with a JSON line
// naming itself, so a curl through turnout shows where the request went.
import http from "node:http";

export interface DemoUpstream {
  name: string;
  host: string;
  port: number;
}

/** The endpoints examples/manifests/endpointslices.yaml names. */
export const DEMO_UPSTREAMS: readonly DemoUpstream[] = [
  { name: "web-a", host: "127.0.0.2", port: 9001 },
  { name: "web-b", host: "127.0.0.3", port: 9001 },
  { name: "api-a", host: "127.0.0.4", port: 9001 },
  { name: "api-canary-a", host: "127.0.0.5", port: 9001 },
];

export async function startDemoUpstreams(upstreams: readonly DemoUpstream[] = DEMO_UPSTREAMS): Promise<http.Server[]> {
  return Promise.all(
    upstreams.map(
      (upstream) =>
        new Promise<http.Server>((resolve, reject) => {
          const server = http.createServer((req, res) => {
            const body = JSON.stringify({ upstream: upstream.name, method: req.method, host: req.headers.host, url: req.url });
            res.writeHead(200, { "content-type": "application/json" });
            res.end(`${body}\n`);
          });
          server.once("error", reject);
          server.listen(upstream.port, upstream.host, () => resolve(server));
        }),
    ),
  );
}
