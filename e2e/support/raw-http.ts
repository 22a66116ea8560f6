// Raw HTTP/1.1 exchanges on a fresh connection, and readers for the bytes that come
// back: for requests no HTTP client library would send.
import { connect } from "node:net";

export interface Conversation {
  received: string;
  /** The server closed (FIN or reset) the connection. */
  closed: boolean;
  reset: boolean;
}

/**
 * Sends `bytes` on a fresh connection and collects what comes back until the server
 * closes, `until(received)` holds, or `timeoutMs` passes (then closed is false).
 */
export function converse(port: number, bytes: string | Buffer | (string | Buffer)[], options: { until?: (received: string) => boolean; timeoutMs?: number } = {}): Promise<Conversation> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    let settled = false;
    const finish = (closed: boolean, reset = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, closed, reset });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 5000);
    socket.on("connect", () => {
      for (const piece of Array.isArray(bytes) ? bytes : [bytes]) socket.write(piece);
    });
    socket.on("data", (d: Buffer) => {
      received += d.toString("latin1");
      if (options.until?.(received)) finish(false);
    });
    socket.on("end", () => finish(true));
    socket.on("error", () => finish(true, true));
  });
}

/** Status lines of the responses in a raw answer, in order (interim ones included). */
export function statusLines(received: string): string[] {
  return [...received.matchAll(/HTTP\/1\.[01] \d{3} [^\r\n]*(?=\r\n)/g)].map((m) => m[0]);
}

export function headerLines(received: string, name: string): string[] {
  const head = received.slice(0, received.indexOf("\r\n\r\n"));
  return head
    .split("\r\n")
    .slice(1)
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(name.length + 1).trim());
}

/** Raw bytes on a fresh connection; resolves with everything the server sent back. */
export function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
    socket.on("end", () => resolve(received));
    socket.on("error", reject);
    socket.setTimeout(5000, () => socket.destroy(new Error("raw exchange timed out")));
  });
}

/** The body of one raw HTTP/1.1 response (headers and body as received), de-chunked when chunked. */
export function rawBody(response: string): string {
  const split = response.indexOf("\r\n\r\n");
  const head = response.slice(0, split);
  let rest = response.slice(split + 4);
  if (!/\r\ntransfer-encoding: chunked/i.test(head)) return rest;
  let body = "";
  for (;;) {
    const line = rest.indexOf("\r\n");
    const size = Number.parseInt(rest.slice(0, line), 16);
    if (!(size > 0)) return body;
    body += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}
