// One undici Pool of keep-alive connections per endpoint address (and connect
// timeout), created on first use and closed when the endpoint leaves every
// backend. Its connector remembers, per socket error, whether that socket had
// already carried a response: the keep-alive race the retry rules care about.
import { Pool, buildConnector } from "undici";
import type { Socket } from "node:net";

/** Idle upstream connections stay open this long, unless the upstream's Keep-Alive hint says less. */
const IDLE_TIMEOUT_MS = 60_000;

/** Socket errors (ECONNRESET, EPIPE...) -> bytes the socket had read when the error happened. */
const bytesReadAtError = new WeakMap<object, number>();

function rememberBytesRead(this: Socket, error: Error): void {
  bytesReadAtError.set(error, this.bytesRead);
}

/**
 * Whether the connection an error happened on had received bytes before it. When the
 * failed request's own response had not started, those bytes were earlier responses:
 * the connection was a reused keep-alive connection.
 */
export function connectionHadReadBytes(error: Error): boolean {
  // undici's SocketError carries the socket's counters; raw socket errors were recorded by our connector.
  const info = (error as { socket?: { bytesRead?: unknown } | null }).socket;
  const bytes = typeof info?.bytesRead === "number" ? info.bytesRead : bytesReadAtError.get(error);
  return bytes !== undefined && bytes > 0;
}

function createPool(address: string, connectTimeoutMs: number): Pool {
  const connect = buildConnector({ timeout: connectTimeoutMs });
  return new Pool(`http://${address}`, {
    connect: (options, callback) => {
      connect(options, (error, socket) => {
        if (socket) socket.on("error", rememberBytesRead);
        if (error) callback(error, null);
        else if (socket) callback(null, socket);
      });
    },
    keepAliveTimeout: IDLE_TIMEOUT_MS,
    keepAliveMaxTimeout: IDLE_TIMEOUT_MS,
    // Set per request from the route's read timeout.
    headersTimeout: 0,
    bodyTimeout: 0,
    pipelining: 1,
  });
}

export class UpstreamPools {
  /** address -> connect timeout (ms) -> pool; nearly always one timeout per address. */
  readonly #pools = new Map<string, Map<number, Pool>>();

  get(address: string, connectTimeoutMs: number): Pool {
    let byTimeout = this.#pools.get(address);
    if (byTimeout === undefined) {
      byTimeout = new Map();
      this.#pools.set(address, byTimeout);
    }
    let pool = byTimeout.get(connectTimeoutMs);
    if (pool === undefined) {
      pool = createPool(address, connectTimeoutMs);
      byTimeout.set(connectTimeoutMs, pool);
    }
    return pool;
  }

  /** Closes the pools of endpoints that are gone; requests in flight on them finish first. */
  forget(addresses: readonly string[]): void {
    for (const address of addresses) {
      const byTimeout = this.#pools.get(address);
      if (byTimeout === undefined) continue;
      this.#pools.delete(address);
      for (const pool of byTimeout.values()) pool.close(ignore);
    }
  }

  /** Addresses with a pool, for tests and debugging. */
  addresses(): string[] {
    return [...this.#pools.keys()];
  }

  close(): void {
    for (const byTimeout of this.#pools.values()) for (const pool of byTimeout.values()) void pool.destroy(null).catch(ignore);
    this.#pools.clear();
  }
}

function ignore(): void {
  // closing is best effort
}
