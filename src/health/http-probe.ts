// One active health probe: a plain HTTP GET on a fresh connection, judged by its
// status line alone (200-399 passes), bounded by a timeout. The only I/O in health/.
import http from "node:http";

export interface ProbeRequest {
  ip: string;
  port: number;
  path: string;
  /** Host header value. */
  host: string;
  timeoutMs: number;
  /** Aborts the probe (the session stopped); the result is then a failure nobody reads. */
  signal?: AbortSignal;
}

export type ProbeResult = { ok: true; status: number } | { ok: false; reason: string };

export const PROBE_USER_AGENT = "turnout-health-check";

/** Pure. The statuses that count as a passed probe. */
export function probeStatusPasses(status: number): boolean {
  return status >= 200 && status <= 399;
}

/**
 * Never rejects. The timeout covers connecting and receiving the response head;
 * the verdict is taken on the status line and the rest of the body is discarded.
 */
export function httpProbe(request: ProbeRequest): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    // Created first so that `settle` can always clear it, whatever fires first.
    const timer = setTimeout(() => {
      settle({ ok: false, reason: `timed out after ${request.timeoutMs} ms` });
      req.destroy();
    }, request.timeoutMs);
    timer.unref();
    const settle = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = http.request({
      host: request.ip,
      port: request.port,
      path: request.path,
      method: "GET",
      // A fresh short-lived connection per probe, so a probe tests connecting too.
      agent: false,
      headers: { host: request.host, "user-agent": PROBE_USER_AGENT, connection: "close", accept: "*/*" },
      ...(request.signal ? { signal: request.signal } : {}),
    });
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      settle(probeStatusPasses(status) ? { ok: true, status } : { ok: false, reason: `status ${status}` });
      // Drain a short body; cut a long or endless one.
      res.on("error", () => undefined);
      res.resume();
      const cut = setTimeout(() => req.destroy(), request.timeoutMs);
      cut.unref();
      res.on("close", () => clearTimeout(cut));
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      settle({ ok: false, reason: error.code !== undefined ? `${error.code}: ${error.message}` : error.message });
    });
    req.end();
  });
}
