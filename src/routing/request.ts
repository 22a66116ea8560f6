// RouteRequest: what the matcher needs to know about a request. Header, cookie and
// query values are looked up through functions so the proxy parses them only when a
// route condition actually asks.

/** One or more values of a header, cookie or query parameter; undefined when absent. */
export type RequestValues = string | readonly string[] | undefined;

export interface RouteRequest {
  /** Raw Host header (or :authority): may carry a port and mixed case; "" when absent. */
  readonly host: string;
  /** Raw request path, without the query string. */
  readonly path: string;
  /** Values of a header; `name` is lower-case. */
  header(name: string): RequestValues;
  /** Values of a cookie, by exact name. */
  cookie(name: string): RequestValues;
  /** Values of a query parameter (percent-decoded), by exact name. */
  query(name: string): RequestValues;
}

/** The parts of an incoming HTTP request routeRequestFromHttp reads. */
export interface HttpRequestParts {
  host: string | undefined;
  /** The request target as received: path plus optional `?query`. */
  url: string;
  /**
   * Lower-case header names, as node gives them (`req.headersDistinct` keeps repeated headers apart).
   * Read only when a header or cookie is asked for, so it may be a getter that builds it then.
   */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/**
 * Lower-cases the Host header value and strips a port (also from the `[::1]:8080`
 * IPv6 form, which yields `::1`) and one trailing dot.
 */
export function normaliseRequestHost(raw: string): string {
  if (isNormalHost(raw)) return raw;
  let host = raw.trim();
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    host = end < 0 ? host.slice(1) : host.slice(1, end);
  } else {
    const colon = host.indexOf(":");
    // More than one colon: a bare IPv6 address without port; leave it whole.
    if (colon >= 0 && host.indexOf(":", colon + 1) < 0) host = host.slice(0, colon);
  }
  host = host.toLowerCase();
  return host.endsWith(".") ? host.slice(0, -1) : host;
}

/** True when `host` is already normal: only a-z, 0-9, "-", "." and "_", not ending in a dot (most Host headers). */
function isNormalHost(host: string): boolean {
  const n = host.length;
  if (n === 0 || host.charCodeAt(n - 1) === 46 /* "." */) return n === 0;
  for (let i = 0; i < n; i++) {
    const c = host.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95;
    if (!ok) return false;
  }
  return true;
}

/** Splits `a=1; b=2` cookie headers into name -> values; surrounding double quotes are removed. */
export function parseCookieHeader(values: readonly string[]): Map<string, string[]> {
  const cookies = new Map<string, string[]>();
  for (const header of values) {
    for (const pair of header.split(";")) {
      const eq = pair.indexOf("=");
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      if (name === "") continue;
      let value = pair.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      const list = cookies.get(name);
      if (list) list.push(value);
      else cookies.set(name, [value]);
    }
  }
  return cookies;
}

function asList(values: RequestValues): readonly string[] {
  if (values === undefined) return [];
  return typeof values === "string" ? [values] : values;
}

class HttpRouteRequest implements RouteRequest {
  readonly host: string;
  readonly path: string;
  readonly #parts: HttpRequestParts;
  /** Index of "?" in the url, -1 without query. */
  readonly #queryStart: number;
  #cookies: Map<string, string[]> | undefined;
  #query: URLSearchParams | undefined;

  constructor(parts: HttpRequestParts) {
    this.host = parts.host ?? "";
    const q = parts.url.indexOf("?");
    this.path = q < 0 ? parts.url : parts.url.slice(0, q);
    this.#queryStart = q;
    this.#parts = parts;
  }

  header(name: string): RequestValues {
    return this.#parts.headers[name];
  }

  cookie(name: string): RequestValues {
    this.#cookies ??= parseCookieHeader(asList(this.#parts.headers["cookie"]));
    return this.#cookies.get(name);
  }

  query(name: string): RequestValues {
    this.#query ??= new URLSearchParams(this.#queryStart < 0 ? "" : this.#parts.url.slice(this.#queryStart + 1));
    const values = this.#query.getAll(name);
    return values.length === 0 ? undefined : values;
  }
}

/** A RouteRequest over node's request fields; cookies and query are parsed on first use. */
export function routeRequestFromHttp(parts: HttpRequestParts): RouteRequest {
  return new HttpRouteRequest(parts);
}
