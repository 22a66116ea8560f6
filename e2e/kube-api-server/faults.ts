// Fault injection for tests: the next N requests matching a method/path/watch filter are
// answered with a chosen error status instead of being served, or served only after a delay.

/** Which requests a rule applies to; an absent field matches anything. */
export interface RequestFilter {
  /** Upper-case HTTP method; any when absent. */
  method?: string;
  /** Matches when the URL path starts with this; any when absent. */
  pathPrefix?: string;
  /** true: only watch requests; false: only non-watch requests; absent: both. */
  watch?: boolean;
  /** Kubernetes verb (get, list, watch, create, update, patch, delete...). */
  verb?: string;
  /** Plural resource, optionally qualified: "services", "ingresses" or "ingresses.networking.k8s.io". */
  resource?: string;
}

export interface FaultRule extends RequestFilter {
  /** How many more matching requests fail. */
  remaining: number;
  status: number;
  message?: string;
}

export interface DelayRule extends RequestFilter {
  /** How many more matching requests are held back. */
  remaining: number;
  /** How long each is held before it is served (or failed by a FaultRule). */
  delayMs: number;
}

export interface RequestShape {
  method: string;
  pathname: string;
  verb: string;
  resource: string;
  apiGroup: string;
}

function matches(rule: RequestFilter, request: RequestShape): boolean {
  return (
    (rule.method === undefined || rule.method === request.method) &&
    (rule.pathPrefix === undefined || request.pathname.startsWith(rule.pathPrefix)) &&
    (rule.watch === undefined || rule.watch === (request.verb === "watch")) &&
    (rule.verb === undefined || rule.verb === request.verb) &&
    (rule.resource === undefined || rule.resource === request.resource || rule.resource === `${request.resource}.${request.apiGroup}`)
  );
}

/** Counted rules, first match wins; failures and delays each keep their own. */
export class FaultInjector<Rule extends RequestFilter & { remaining: number } = FaultRule> {
  #rules: Rule[] = [];

  add(rule: Rule): void {
    if (rule.remaining > 0) this.#rules.push({ ...rule });
  }

  clear(): void {
    this.#rules = [];
  }

  /** Requests still due to be affected, summed over all rules. */
  get pending(): number {
    return this.#rules.reduce((sum, rule) => sum + rule.remaining, 0);
  }

  /** The first rule matching the request, consuming one of its uses. */
  take(request: RequestShape): Rule | undefined {
    const rule = this.#rules.find((r) => matches(r, request));
    if (rule === undefined) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.#rules = this.#rules.filter((r) => r !== rule);
    return rule;
  }
}
