// Starts a server listening; resolves with the port it got (the kernel's pick for port 0).
import { createServer } from "node:net";
import type { Server } from "node:net";

/** Whether `listen` binds with SO_REUSEPORT when asked to (`reusePort`) for `port`. */
export function reusesPort(reusePort: boolean, port: number): boolean {
  return reusePort && port !== 0 && process.platform === "linux";
}

/**
 * `reusePort`: bind a socket of this process's own with SO_REUSEPORT, so that every
 * worker has one and the kernel deals connections out by hash. Without it, cluster
 * workers share the primary's socket. Port 0 would give each worker a different
 * port, so it always shares (the primary resolves it first: see pickFreePort); so do
 * other systems than Linux, where Node refuses the option or the kernel gives every
 * connection to the newest socket.
 */
export function listen(server: Server, port: number, host: string, reusePort = false): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, reusePort: reusesPort(reusePort, port) }, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

/**
 * A port free on `host` now, picked by the kernel: the primary resolves port 0 once, so
 * every worker, and every replacement of one, listens on the same port.
 */
export async function pickFreePort(host: string): Promise<number> {
  const probe = createServer();
  const port = await listen(probe, 0, host);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * Binds `port` without SO_REUSEPORT and lets it go: fails with EADDRINUSE if any process
 * listens there. Workers that then bind with SO_REUSEPORT would instead join a listener
 * of the same user (a second turnout) and silently share its connections.
 */
export async function ensurePortFree(port: number, host: string): Promise<void> {
  const probe = createServer();
  await listen(probe, port, host);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}
