// HTTP -> HTTPS redirect target for TLS hosts (turnout.dev/ssl-redirect, on by
// default). 308 keeps the method and body, unlike 301/302.
import { isIPv6 } from "node:net";

export const HTTPS_REDIRECT_STATUS = 308;

const HOST_NAME = /^[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?(\.[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?)*\.?$/i;
const PORT = /^[0-9]{1,5}$/;

/** The host part of a Host header, port stripped, IPv6 bracketed; undefined when malformed. */
function redirectHost(hostHeader: string): string | undefined {
  const value = hostHeader.trim();
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    const address = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (close < 0 || !isIPv6(address)) return undefined;
    if (rest !== "" && !(rest.startsWith(":") && PORT.test(rest.slice(1)))) return undefined;
    return `[${address.toLowerCase()}]`;
  }
  // Bracketless IPv6 is not valid in a Host header, but is unambiguous enough to repair.
  if (isIPv6(value)) return `[${value.toLowerCase()}]`;
  const colon = value.lastIndexOf(":");
  const name = colon < 0 ? value : value.slice(0, colon);
  if (colon >= 0 && !PORT.test(value.slice(colon + 1))) return undefined;
  return HOST_NAME.test(name) ? name.toLowerCase() : undefined;
}

/** Path and query of the request target; "/" for `*` and other non-path forms. */
function pathAndQuery(url: string): string {
  if (url.startsWith("/")) return url;
  if (/^https?:\/\//i.test(url)) {
    try {
      const parsed = new URL(url);
      return `${parsed.pathname}${parsed.search}`;
    } catch {
      return "/";
    }
  }
  return "/";
}

/**
 * Location for a 308 from the HTTP listener to the HTTPS one: same host (the
 * incoming port dropped), `httpsPort` unless 443, same path and query.
 * Undefined when the Host header is missing or malformed (answer 400 then).
 */
export function httpsRedirectLocation(hostHeader: string | undefined, url: string, httpsPort: number): string | undefined {
  if (hostHeader === undefined) return undefined;
  const host = redirectHost(hostHeader);
  if (host === undefined) return undefined;
  const port = httpsPort === 443 ? "" : `:${httpsPort}`;
  return `https://${host}${port}${pathAndQuery(url)}`;
}
