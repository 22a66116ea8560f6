// Upstreams for the proxy's end-to-end tests that stream, fail or misbehave on purpose
// (slow bodies, 503s, connections dropped on reuse, odd status lines, no HTTP at all).
import { createHash } from "node:crypto";
import http from "node:http";
import { createServer } from "node:net";
import type { Server, Socket } from "node:net";

// Upstreams for streaming, status and retry cases, and two that drop a reused connection.
export const SPECIAL_IPS = ["127.0.0.14", "127.0.0.15"];
export const RACY_FIN_IP = "127.0.0.16";
export const RACY_RST_IP = "127.0.0.10";
// A raw upstream answering with status lines node's parser or writer objects to, or not HTTP at all.
export const ODD_IP = "127.0.0.9";

/** Resolves when `release()` is called; lets a test hold an upstream mid-body. */
export function gate(): { wait: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  const wait = new Promise<void>((resolve) => (release = resolve));
  return { wait, release };
}

export interface SpecialUpstreams {
  /** Resolved by a test to let /stream finish its body. */
  streamGate: { wait: Promise<void>; release: () => void };
  /** Called with the first request body chunk /count receives. */
  onFirstUploadChunk: () => void;
  /** Reused connections the racy upstreams dropped without answering. */
  racyDrops: number;
  close(): Promise<void>;
}

/**
 * http upstreams on SPECIAL_IPS (the first answers /flaky with 503, the second with 200),
 * and raw TCP upstreams that answer the first request on a connection and drop the
 * connection on the second (FIN or RST), as an upstream closing an idle keep-alive
 * connection just as it is reused does.
 */
export async function startSpecialUpstreams(port: number): Promise<SpecialUpstreams> {
  const state: SpecialUpstreams = { streamGate: gate(), onFirstUploadChunk: () => undefined, racyDrops: 0, close: () => Promise.resolve() };
  const handler = (name: string) => (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url ?? "/";
    if (url === "/stream") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first-chunk\n");
      void state.streamGate.wait.then(() => res.end("last-chunk\n"));
    } else if (url.startsWith("/bytes/")) {
      const total = Number(url.slice(7));
      res.writeHead(200, req.method === "HEAD" ? { "content-length": total } : { "content-type": "application/octet-stream" });
      if (req.method === "HEAD") return void res.end();
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
          sent += piece.length;
          if (!res.write(piece)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    } else if (url === "/count") {
      const hash = createHash("sha256");
      let bytes = 0;
      req.once("data", () => state.onFirstUploadChunk());
      req.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on("end", () => res.end(JSON.stringify({ bytes, sha256: hash.digest("hex"), chunked: req.headers["transfer-encoding"] === "chunked" })));
    } else if (url === "/status/204") {
      res.writeHead(204, { "x-upstream": name }).end();
    } else if (url === "/status/304") {
      res.writeHead(304, { etag: '"v1"' }).end();
    } else if (url === "/interim") {
      res.writeProcessing();
      res.writeEarlyHints({ link: "</app.css>; rel=preload; as=style" });
      setTimeout(() => res.writeHead(200, { "content-type": "text/plain" }).end("final"), 50);
    } else if (url === "/flaky") {
      const failing = name === "s1";
      res.writeHead(failing ? 503 : 200, { "content-type": "text/plain" }).end(failing ? "s1 failed" : "s2 ok");
    } else {
      res.writeHead(404).end();
    }
  };
  const listening = (server: Server, host: string): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
  const servers: Server[] = [];
  for (const [i, ip] of SPECIAL_IPS.entries()) {
    const server = http.createServer(handler(`s${i + 1}`));
    servers.push(server);
    await listening(server, ip);
  }
  const sockets = new Set<Socket>();
  for (const [ip, drop] of [[RACY_FIN_IP, "fin"], [RACY_RST_IP, "rst"]] as const) {
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      let answered = 0;
      let pending = "";
      socket.on("data", (data: Buffer) => {
        pending += data.toString("latin1");
        while (pending.includes("\r\n\r\n")) {
          pending = pending.slice(pending.indexOf("\r\n\r\n") + 4);
          if (answered++ === 0) {
            socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nracy\n");
          } else {
            state.racyDrops++;
            if (drop === "rst") socket.resetAndDestroy();
            else socket.destroy();
            return;
          }
        }
      });
    });
    servers.push(server);
    await listening(server, ip);
  }
  const oddAnswers: Record<string, string> = {
    "/status-099": "HTTP/1.1 099 Odd\r\ncontent-length: 2\r\n\r\nok",
    "/latin1-reason": "HTTP/1.1 200 D\xe9j\xe0 vu\r\ncontent-length: 2\r\n\r\nok",
    "/not-http": "SSH-2.0-OpenSSH_9.6\r\n\r\n",
  };
  const odd = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let head = "";
    socket.on("data", (data: Buffer) => {
      head += data.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const path = head.split(" ")[1] ?? "";
      // Unknown paths (an upgrade that is never answered) get no answer at all.
      const answer = oddAnswers[path];
      if (answer !== undefined) socket.end(Buffer.from(answer, "latin1"));
    });
  });
  servers.push(odd);
  await listening(odd, ODD_IP);
  state.close = async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  };
  return state;
}
