// Echo upstreams for end-to-end tests: real HTTP servers on loopback addresses
// (127.0.0.2, 127.0.0.3, ...) that answer with JSON naming themselves and echoing
// what they received; tests can slow them, fail them, or kill them.
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocketServer } from "ws";

export interface EchoReply {
  upstream: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface EchoUpstream {
  name: string;
  host: string;
  port: number;
  /** `host:port`, as an EndpointSlice endpoint address + port would be. */
  address: string;
  /** Requests answered so far. */
  readonly hits: number;
  /** Delay every answer by this many ms (0 by default). */
  delayMs: number;
  /** Answer with this status instead of 200, when set. */
  status: number | undefined;
  /** Stops listening and destroys open connections: the endpoint is dead. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

export async function startEchoUpstream(name: string, host: string, port = 0): Promise<EchoUpstream> {
  const sockets = new Set<Socket>();
  const state = { hits: 0, delayMs: 0, status: undefined as number | undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const reply: EchoReply = { upstream: name, method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      const send = (): void => {
        state.hits += 1;
        res.writeHead(state.status ?? 200, { "content-type": "application/json", "x-upstream": name, "keep-alive": "timeout=5" });
        res.end(JSON.stringify(reply));
      };
      if (state.delayMs > 0) setTimeout(send, state.delayMs);
      else send();
    });
  });
  // WebSocket echo: every message comes back prefixed with the upstream's name.
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws) => ws.on("message", (data: Buffer) => ws.send(`${name}:${data.toString("utf8")}`)));
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const boundPort = (server.address() as AddressInfo).port;
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      wss.close();
      server.close(() => resolve());
    });
  return {
    name,
    host,
    port: boundPort,
    address: `${host}:${boundPort}`,
    get hits() {
      return state.hits;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    get status() {
      return state.status;
    },
    set status(code: number | undefined) {
      state.status = code;
    },
    kill: close,
    close,
  };
}

/**
 * Echo upstreams on several loopback addresses sharing one port, as the pods
 * behind one EndpointSlice port do. Retries with a new port if one is taken.
 */
export async function startEchoFleet(names: readonly string[], hosts: readonly string[]): Promise<EchoUpstream[]> {
  for (let attempt = 0; ; attempt++) {
    const first = await startEchoUpstream(names[0] ?? "u0", hosts[0] ?? "127.0.0.2");
    const rest: EchoUpstream[] = [];
    try {
      for (let i = 1; i < names.length; i++) rest.push(await startEchoUpstream(names[i] ?? `u${i}`, hosts[i] ?? `127.0.0.${i + 2}`, first.port));
      return [first, ...rest];
    } catch (error) {
      await Promise.all([first, ...rest].map((u) => u.close()));
      if (attempt >= 5) throw error;
    }
  }
}
