// Request header rewriting at the proxy boundary: hop-by-hop headers removed,
// X-Forwarded-* and X-Real-IP set from what turnout saw, not what the client claimed.
// Two forms: in place on node's header objects (http-proxy engine, upgrades), and
// one pass over the raw header list into undici's flat list (the default engine),
// which spares building node's header objects for every request.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"];

/** Removes hop-by-hop headers (RFC 9110 7.6.1), including those the Connection header names. */
export function stripHopByHop(headers: IncomingHttpHeaders | OutgoingHttpHeaders, keepUpgrade: boolean): void {
  const connection = headers.connection;
  if (typeof connection === "string" && !namesNoOtherHeader(connection)) {
    for (const name of connection.split(",")) {
      const lower = name.trim().toLowerCase();
      if (lower !== "" && !(keepUpgrade && lower === "upgrade")) delete headers[lower];
    }
  }
  for (const name of HOP_BY_HOP) {
    if (keepUpgrade && (name === "connection" || name === "upgrade")) continue;
    // transfer-encoding is framing for this hop; Node re-frames the body it forwards.
    // Checked first: deleting a property that exists slows every later access to the object.
    if (headers[name] !== undefined) delete headers[name];
  }
}

export interface ForwardedContext {
  clientIp: string;
  proto: "http" | "https";
  /** The port the client addressed (Host's port, else the scheme's default). */
  port: string;
}

/** Appends to X-Forwarded-For; sets X-Forwarded-Proto/Host/Port and X-Real-IP. */
export function setForwardedHeaders(headers: IncomingHttpHeaders, ctx: ForwardedContext): void {
  const previous = headers["x-forwarded-for"];
  headers["x-forwarded-for"] = previous ? `${Array.isArray(previous) ? previous.join(", ") : previous}, ${ctx.clientIp}` : ctx.clientIp;
  headers["x-forwarded-proto"] = ctx.proto;
  const host = headers.host;
  if (host !== undefined) headers["x-forwarded-host"] = host;
  headers["x-forwarded-port"] = ctx.port;
  headers["x-real-ip"] = ctx.clientIp;
}

/** The client's address without the IPv4-mapped IPv6 prefix. */
export function clientAddress(remoteAddress: string | undefined): string {
  if (!remoteAddress) return "";
  return remoteAddress.startsWith("::ffff:") ? remoteAddress.slice(7) : remoteAddress;
}

/** What the raw-list rewrite does with a header, by lower-case name. */
const DROP = 1;
const FORWARDED_FOR = 2;
const HOST = 3;
const CONNECTION = 4;
const RAW_HEADER_ACTIONS = new Map<string, number>([
  ...HOP_BY_HOP.map((name): [string, number] => [name, DROP]),
  ["connection", CONNECTION],
  // Node has already answered 100 Continue to the client; undici does not send Expect.
  ["expect", DROP],
  // Set from what turnout saw.
  ["x-forwarded-proto", DROP],
  ["x-forwarded-host", DROP],
  ["x-forwarded-port", DROP],
  ["x-real-ip", DROP],
  ["x-forwarded-for", FORWARDED_FOR],
  ["host", HOST],
]);

/**
 * The upstream request's headers as a flat `[name, value, ...]` list, from node's
 * `rawHeaders`: names keep the client's spelling, hop-by-hop headers (and those the
 * Connection header names) and Expect are left out, a repeated Host keeps its first
 * value, and X-Forwarded-For/Proto/Host/Port and X-Real-IP are set as
 * setForwardedHeaders sets them.
 */
export function upstreamHeaderList(rawHeaders: readonly string[], ctx: ForwardedContext): string[] {
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let host: string | undefined;
  let connection: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const action = RAW_HEADER_ACTIONS.get(name) ?? RAW_HEADER_ACTIONS.get(name.toLowerCase());
    if (action === undefined) {
      out.push(name, value);
    } else if (action === HOST) {
      if (host !== undefined) continue;
      host = value;
      out.push(name, value);
    } else if (action === FORWARDED_FOR) {
      forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
    } else if (action === CONNECTION) {
      connection = connection === undefined ? value : `${connection}, ${value}`;
    }
  }
  const result = connection === undefined ? out : withoutConnectionNamed(out, connection);
  result.push(
    "x-forwarded-for",
    forwardedFor ? `${forwardedFor}, ${ctx.clientIp}` : ctx.clientIp,
    "x-forwarded-proto",
    ctx.proto,
  );
  if (host !== undefined) result.push("x-forwarded-host", host);
  result.push("x-forwarded-port", ctx.port, "x-real-ip", ctx.clientIp);
  return result;
}

/** `list` without the headers a Connection value names (other than those always kept or set). */
function withoutConnectionNamed(list: string[], connection: string): string[] {
  if (namesNoOtherHeader(connection)) return list;
  const named = connectionNames(connection);
  // Host stays; the others with an action are already dropped or set by turnout.
  for (const name of named) if (RAW_HEADER_ACTIONS.has(name)) named.delete(name);
  if (named.size === 0) return list;
  const kept: string[] = [];
  for (let i = 0; i + 1 < list.length; i += 2) {
    if (!named.has(list[i]!.toLowerCase())) kept.push(list[i]!, list[i + 1]!);
  }
  return kept;
}

/** True for the usual Connection values, which name no header beyond the hop-by-hop ones. */
function namesNoOtherHeader(connection: string): boolean {
  const value = connection.length <= 10 ? connection.toLowerCase() : "";
  return value === "keep-alive" || value === "close" || value === "upgrade";
}

const HOP_BY_HOP_SET: ReadonlySet<string> = new Set(HOP_BY_HOP);

/**
 * A response's end-to-end headers as a flat `[name, value, ...]` list for
 * `res.writeHead` (undici gives lower-case names): hop-by-hop headers and those the
 * Connection header names are left out, and `setCookie`, when given, is appended to
 * Set-Cookie. The parsed object is left alone (deleting from it would be slower).
 */
export function endToEndHeaderList(headers: Readonly<Record<string, string | string[] | undefined>>, setCookie: string | undefined): (string | string[])[] {
  const connection = headers.connection;
  const named = typeof connection === "string" && !namesNoOtherHeader(connection) ? connectionNames(connection) : undefined;
  const out: (string | string[])[] = [];
  let cookieAdded = setCookie === undefined;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP_SET.has(name) || named?.has(name) === true) continue;
    if (!cookieAdded && name === "set-cookie") {
      out.push(name, typeof value === "string" ? [value, setCookie!] : [...value, setCookie!]);
      cookieAdded = true;
    } else {
      out.push(name, value);
    }
  }
  if (!cookieAdded) out.push("set-cookie", setCookie!);
  return out;
}

function connectionNames(connection: string): Set<string> {
  const named = new Set<string>();
  for (const token of connection.split(",")) {
    const lower = token.trim().toLowerCase();
    if (lower !== "") named.add(lower);
  }
  return named;
}
