// Request header rewriting at the proxy boundary: hop-by-hop headers removed,
// X-Forwarded-* and X-Real-IP set from what turnout saw, not what the client claimed.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"];

/** Removes hop-by-hop headers (RFC 9110 7.6.1), including those the Connection header names. */
export function stripHopByHop(headers: IncomingHttpHeaders | OutgoingHttpHeaders, keepUpgrade: boolean): void {
  const connection = headers.connection;
  if (typeof connection === "string") {
    for (const name of connection.split(",")) {
      const lower = name.trim().toLowerCase();
      if (lower !== "" && !(keepUpgrade && lower === "upgrade")) delete headers[lower];
    }
  }
  for (const name of HOP_BY_HOP) {
    if (keepUpgrade && (name === "connection" || name === "upgrade")) continue;
    // transfer-encoding is framing for this hop; Node re-frames the body it forwards.
    delete headers[name];
  }
}

export interface ForwardedContext {
  clientIp: string;
  proto: "http" | "https";
  /** The listener's port, as the client addressed it. */
  port: number;
}

/** Appends to X-Forwarded-For; sets X-Forwarded-Proto/Host/Port and X-Real-IP. */
export function setForwardedHeaders(headers: IncomingHttpHeaders, ctx: ForwardedContext): void {
  const previous = headers["x-forwarded-for"];
  headers["x-forwarded-for"] = previous ? `${Array.isArray(previous) ? previous.join(", ") : previous}, ${ctx.clientIp}` : ctx.clientIp;
  headers["x-forwarded-proto"] = ctx.proto;
  const host = headers.host;
  if (host !== undefined) headers["x-forwarded-host"] = host;
  headers["x-forwarded-port"] = String(ctx.port);
  headers["x-real-ip"] = ctx.clientIp;
}

/** The client's address without the IPv4-mapped IPv6 prefix. */
export function clientAddress(remoteAddress: string | undefined): string {
  if (!remoteAddress) return "";
  return remoteAddress.startsWith("::ffff:") ? remoteAddress.slice(7) : remoteAddress;
}
