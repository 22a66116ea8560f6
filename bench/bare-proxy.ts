// The reference forwarder: about the least a Node reverse proxy can do
// (http.request over a keep-alive agent, round robin, piping both ways), so the
// throughput section shows turnout's own cost above Node's HTTP stack.
// Usage: node bench/bare-proxy.ts PORT HOST:PORT [HOST:PORT...]; prints {"port":N} when listening.
import http from "node:http";

const [listenPort = "0", ...targets] = process.argv.slice(2);
const upstreams = targets.map((target) => {
  const [host = "127.0.0.1", port = "80"] = target.split(":");
  return { host, port: Number(port) };
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
let next = 0;

const server = http.createServer((req, res) => {
  const upstream = upstreams[next++ % upstreams.length];
  if (upstream === undefined) return void res.writeHead(502).end();
  const forwarded = http.request({ ...upstream, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  forwarded.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(forwarded);
});

server.listen(Number(listenPort), "127.0.0.1", () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }));
});
process.on("SIGTERM", () => process.exit(0));
