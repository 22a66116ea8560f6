// Two purpose-built upstreams for HTTP edge-case tests: one that records every request
// node's strict parser accepts (method, target, raw headers, body, whether it was
// aborted), and a raw TCP one scripted per path, for answers an HTTP server would not send.
import http from "node:http";
import { createServer } from "node:net";
import type { Server, Socket } from "node:net";

// The recording upstream

export interface Recorded {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
  /** The request stream was aborted before its end. */
  aborted: boolean;
  complete: boolean;
}

export interface Recorder {
  port: number;
  requests: Recorded[];
  openSockets: () => number;
  close(): Promise<void>;
}

export async function startRecorder(host: string): Promise<Recorder> {
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const entry: Recorded = { method: req.method ?? "", url: req.url ?? "", rawHeaders: req.rawHeaders, body: "", aborted: false, complete: false };
    requests.push(entry);
    const url = req.url ?? "/";
    if (url.startsWith("/early-413")) {
      // Refuses the upload at once, without reading it (as a body-size limit does); node
      // then reads and drops the rest of the body, keeping the connection.
      res.writeHead(413, { "content-type": "text/plain" });
      res.end("too large");
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("aborted", () => (entry.aborted = true));
    req.on("error", () => (entry.aborted = true));
    req.on("end", () => {
      entry.complete = true;
      entry.body = Buffer.concat(chunks).toString("latin1");
      if (url.includes("/cookies")) {
        res.setHeader("set-cookie", ["a=1; Path=/", "b=2; Path=/; HttpOnly", "c=3, with comma; Path=/"]);
        res.setHeader("content-type", "text/plain");
        res.end("cookies");
      } else if (url.includes("/chunked")) {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("part-one;");
        setTimeout(() => res.end("part-two"), 20);
      } else if (url.includes("/latin1-header")) {
        res.writeHead(200, [["content-type", "text/plain"], ["x-resp", "caf\xc3\xa9 \xff"]]);
        res.end("ok");
      } else if (url.includes("/slow-first-byte")) {
        setTimeout(() => res.writeHead(200, { "content-type": "text/plain" }).end("late but fine"), 400);
      } else {
        const body = JSON.stringify({ method: entry.method, url: entry.url, body: entry.body });
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      }
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  return {
    port: (server.address() as { port: number }).port,
    requests,
    openSockets: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// The raw upstream: reads request heads (and Content-Length bodies) and answers with
// the bytes the script for the path gives; "keep" keeps the connection for the next request.

export type RawScript = (socket: Socket, head: string) => "keep" | "done";

export interface RawUpstream {
  port: number;
  /** Request lines received, in order. */
  requestLines: string[];
  scripts: Map<string, RawScript>;
  close(): Promise<void>;
}

export function okAnswer(body: string): string {
  return `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export async function startRawUpstream(host: string, port: number): Promise<RawUpstream> {
  const requestLines: string[] = [];
  const scripts = new Map<string, RawScript>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let pending = Buffer.alloc(0);
    let bodyLeft = 0;
    let stopped = false;
    socket.on("data", (data: Buffer) => {
      if (stopped) return;
      pending = Buffer.concat([pending, data]);
      for (;;) {
        if (bodyLeft > 0) {
          const take = Math.min(bodyLeft, pending.length);
          bodyLeft -= take;
          pending = pending.subarray(take);
          if (bodyLeft > 0) return;
        }
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = pending.subarray(0, end).toString("latin1");
        pending = pending.subarray(end + 4);
        const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        bodyLeft = cl ? Number(cl[1]) : 0;
        const line = head.split("\r\n")[0]!;
        requestLines.push(line);
        const path = line.split(" ")[1] ?? "/";
        const script = scripts.get(path.split("?")[0]!);
        const verdict = script ? script(socket, head) : (socket.write(okAnswer(`raw ok ${path}`)), "keep");
        if (verdict === "done") {
          stopped = true;
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as { port: number }).port,
    requestLines,
    scripts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
