// Rule host validation and normalisation: lower-case DNS names, or "*." plus a DNS
// name for wildcards; no ports, no IP addresses, no other characters.

export type RuleHost =
  | { ok: true; kind: "any"; key: "" }
  | { ok: true; kind: "exact"; key: string }
  /** key is the host as written ("*.example.com"); suffix is what follows "*.". */
  | { ok: true; kind: "wildcard"; key: string; suffix: string }
  | { ok: false; why: string };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function dnsNameProblem(name: string): string | undefined {
  if (name.length > 253) return "is longer than 253 characters";
  for (const label of name.split(".")) {
    if (label === "") return "has an empty DNS label";
    if (label.length > 63) return `has a DNS label longer than 63 characters (${JSON.stringify(label)})`;
    if (!DNS_LABEL.test(label)) {
      return `has an invalid DNS label ${JSON.stringify(label)}: only a-z, 0-9 and inner "-" are allowed`;
    }
  }
  return undefined;
}

export function parseRuleHost(raw: string | undefined): RuleHost {
  if (raw === undefined || raw === "") return { ok: true, kind: "any", key: "" };
  const host = raw.toLowerCase();
  if (host.includes(":")) return { ok: false, why: "must not include a port (or be an IPv6 address)" };
  if (IPV4.test(host)) return { ok: false, why: "must be a DNS name, not an IP address" };
  if (host.startsWith("*.")) {
    const suffix = host.slice(2);
    const problem = dnsNameProblem(suffix);
    if (problem) return { ok: false, why: `is not a valid wildcard host: ${problem}` };
    return { ok: true, kind: "wildcard", key: host, suffix };
  }
  if (host.includes("*")) return { ok: false, why: 'may contain "*" only as the whole first label ("*.example.com")' };
  const problem = dnsNameProblem(host);
  if (problem) return { ok: false, why: problem };
  return { ok: true, kind: "exact", key: host };
}
