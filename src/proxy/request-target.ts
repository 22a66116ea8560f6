// The request target and authority a request is routed by (RFC 9112 3.2): origin-form
// as sent; absolute-form rewritten to origin-form with its authority as the host;
// any other form refused. Also the port the client addressed, for X-Forwarded-Port.

export interface RequestTarget {
  /** Origin-form path and query, as forwarded upstream. */
  url: string;
  /** The authority: the Host header, or an absolute-form target's own authority. */
  host: string | undefined;
  /** True when the target was absolute-form and `url`/`host` were taken from it. */
  rewritten: boolean;
}

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)([^#]*)/i;

/**
 * The target a request is routed and forwarded by, or undefined when it cannot be
 * served: asterisk-form (`OPTIONS *`), authority-form outside CONNECT, a bare word,
 * userinfo or an empty authority in an absolute-form target.
 */
export function requestTarget(url: string, hostHeader: string | undefined): RequestTarget | undefined {
  if (url.charCodeAt(0) === 0x2f /* "/" */) return { url, host: hostHeader, rewritten: false };
  const absolute = ABSOLUTE_FORM.exec(url);
  if (absolute === null) return undefined;
  const authority = absolute[1]!;
  if (authority === "" || authority.includes("@")) return undefined;
  const rest = absolute[2]!;
  return { url: rest.startsWith("/") ? rest : `/${rest}`, host: authority, rewritten: true };
}

/** The Host header's value: undefined without one, null when there are several (RFC 9112 3.2 asks for a 400). */
export function hostHeader(rawHeaders: readonly string[]): string | undefined | null {
  let host: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 4 || name.toLowerCase() !== "host") continue;
    if (host !== undefined) return null;
    host = rawHeaders[i + 1]!;
  }
  return host;
}

/** `rawHeaders` with every Host value replaced by `host` (one added when there was none). */
export function withHost(rawHeaders: readonly string[], host: string): string[] {
  const out: string[] = [];
  let seen = false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.toLowerCase() === "host") {
      if (!seen) out.push(name, host);
      seen = true;
    } else {
      out.push(name, rawHeaders[i + 1]!);
    }
  }
  if (!seen) out.push("Host", host);
  return out;
}

const DEFAULT_PORTS = { http: "80", https: "443" } as const;

/**
 * The port the client addressed: the Host's explicit port, else the scheme's default
 * (the listener's own port is not it behind a Service or load balancer). Undefined
 * when the Host's port is not a port number.
 */
export function addressedPort(host: string | undefined, proto: "http" | "https"): string | undefined {
  if (host === undefined) return DEFAULT_PORTS[proto];
  // An IPv6 literal's colons are inside the brackets.
  const close = host.startsWith("[") ? host.indexOf("]") : -1;
  const colon = host.indexOf(":", close + 1);
  if (colon < 0) return DEFAULT_PORTS[proto];
  const port = host.slice(colon + 1);
  if (port === "") return DEFAULT_PORTS[proto];
  if (port.length > 5 || !/^[0-9]+$/.test(port) || Number(port) > 65535) return undefined;
  return port;
}
