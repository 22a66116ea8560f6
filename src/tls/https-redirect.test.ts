// HTTP -> HTTPS redirect Location: host kept (port dropped), HTTPS port added unless 443.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HTTPS_REDIRECT_STATUS, httpsRedirectLocation } from "./https-redirect.ts";

void describe("httpsRedirectLocation", () => {
  const cases: [string, string | undefined, string, number, string | undefined][] = [
    ["plain host, port 443 omitted", "example.com", "/a/b?x=1&y=2", 443, "https://example.com/a/b?x=1&y=2"],
    ["incoming port stripped, HTTPS port added", "example.com:8080", "/", 8443, "https://example.com:8443/"],
    ["incoming port stripped, 443 omitted", "Example.COM:80", "/p", 443, "https://example.com/p"],
    ["IPv4 literal", "192.0.2.7:8080", "/", 443, "https://192.0.2.7/"],
    ["IPv6 literal with port", "[2001:DB8::1]:8080", "/x", 8443, "https://[2001:db8::1]:8443/x"],
    ["IPv6 literal without port", "[::1]", "/", 443, "https://[::1]/"],
    ["bracketless IPv6 is repaired", "::1", "/", 443, "https://[::1]/"],
    ["trailing-dot host", "example.com.", "/", 443, "https://example.com./"],
    ["absolute-form target keeps path and query", "example.com", "http://example.com/a?b=c", 443, "https://example.com/a?b=c"],
    ["asterisk target becomes /", "example.com", "*", 443, "https://example.com/"],
    ["double slash path stays a path", "example.com", "//evil.test/x", 443, "https://example.com//evil.test/x"],
    ["missing Host", undefined, "/", 443, undefined],
    ["empty Host", "", "/", 443, undefined],
    ["non-numeric port", "example.com:http", "/", 443, undefined],
    ["userinfo is not a host", "user@example.com", "/", 443, undefined],
    ["path in Host", "example.com/evil", "/", 443, undefined],
    ["bad IPv6", "[not:an:address]:80", "/", 443, undefined],
    ["junk after IPv6", "[::1]x", "/", 443, undefined],
    ["unclosed IPv6", "[::1", "/", 443, undefined],
  ];
  for (const [name, host, url, port, expected] of cases) {
    void it(name, () => assert.equal(httpsRedirectLocation(host, url, port), expected));
  }

  void it("is a 308, which keeps method and body", () => assert.equal(HTTPS_REDIRECT_STATUS, 308));
});
