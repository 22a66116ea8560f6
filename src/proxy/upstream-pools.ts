// The keep-alive connections to each endpoint address (and connect timeout),
// created on first use and closed when the endpoint leaves every backend. The
// connector remembers, per socket error, whether that socket had already carried
// a response: the keep-alive race the retry rules care about.
import { Client, buildConnector } from "undici";
import type { Dispatcher } from "undici";
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

function clientOptions(connectTimeoutMs: number): Client.Options {
  const connect = buildConnector({ timeout: connectTimeoutMs });
  return {
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
  };
}

/**
 * The keep-alive connections to one endpoint: one undici Client per connection, one
 * request at a time each. Idle clients wait on a stack, so a request takes the most
 * recently freed (warm) connection in O(1), and connections a burst opened idle out.
 * undici's Pool scans its clients for a free one, twice per request, which grew with
 * concurrency: replacing it took 4-5% off turnout's CPU per request.
 */
export class EndpointConnections {
  readonly #origin: string;
  readonly #options: Client.Options;
  /** Clients still in use (not closed or failed). */
  readonly #live = new Set<Client>();
  /** Live clients without a request, most recently freed last. */
  readonly #idle: Client[] = [];
  #closed = false;

  constructor(address: string, connectTimeoutMs: number) {
    this.#origin = `http://${address}`;
    this.#options = clientOptions(connectTimeoutMs);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Connections open or opening, busy or idle. */
  get size(): number {
    return this.#live.size;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    if (this.#closed) {
      // A request still routed here after the endpoint left: a one-off connection.
      const client = new Client(this.#origin, this.#options);
      client.dispatch(options, handler);
      client.close().catch(ignore);
      return;
    }
    const client = this.#idle.pop() ?? this.#open();
    // With pipelining 1 a client is busy until its response ends; "drain" frees it. A
    // request undici refused outright (its handler already got the error) left it idle.
    if (client.dispatch(options, handler) || client.stats.size === 0) this.#idle.push(client);
  }

  #open(): Client {
    const client = new Client(this.#origin, this.#options);
    this.#live.add(client);
    const retire = (): void => {
      // A closed connection is not reopened: the next request takes another or a new one.
      if (!this.#live.delete(client)) return;
      const at = this.#idle.lastIndexOf(client);
      if (at >= 0) this.#idle.splice(at, 1);
      client.close().catch(ignore);
    };
    client.on("drain", () => {
      if (this.#live.has(client)) this.#idle.push(client);
    });
    client.on("disconnect", retire);
    client.on("connectionError", retire);
    return client;
  }

  /** Stops taking requests; those in flight finish first. */
  close(): void {
    this.#shutDown((client) => client.close());
  }

  destroy(): void {
    this.#shutDown((client) => client.destroy(null));
  }

  #shutDown(end: (client: Client) => Promise<void>): void {
    this.#closed = true;
    for (const client of this.#live) end(client).catch(ignore);
    this.#live.clear();
    this.#idle.length = 0;
  }
}

export class UpstreamPools {
  /** address -> connect timeout (ms) -> pool; nearly always one timeout per address. */
  readonly #pools = new Map<string, Map<number, EndpointConnections>>();

  get(address: string, connectTimeoutMs: number): EndpointConnections {
    let byTimeout = this.#pools.get(address);
    if (byTimeout === undefined) {
      byTimeout = new Map();
      this.#pools.set(address, byTimeout);
    }
    let pool = byTimeout.get(connectTimeoutMs);
    if (pool === undefined) {
      pool = new EndpointConnections(address, connectTimeoutMs);
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
      for (const pool of byTimeout.values()) pool.close();
    }
  }

  /** Addresses with a pool, for tests and debugging. */
  addresses(): string[] {
    return [...this.#pools.keys()];
  }

  close(): void {
    for (const byTimeout of this.#pools.values()) for (const pool of byTimeout.values()) pool.destroy();
    this.#pools.clear();
  }
}

function ignore(): void {
  // closing is best effort
}
