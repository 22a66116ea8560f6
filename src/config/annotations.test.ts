// parseIngressAnnotations end to end: defaults, each annotation's parsed value,
// the rules between annotations, and how errors and warnings are reported.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BackendPolicy } from "../routing/route-table.ts";
import {
  ANNOTATION_PREFIX,
  DEFAULT_BACKEND_POLICY,
  formatAnnotationProblem,
  parseIngressAnnotations,
  type AnnotationProblem,
  type IngressAnnotations,
} from "./annotations.ts";

/** Writes annotation names without the prefix, for readable tables. */
function annotate(short: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(short).map(([name, value]) => [ANNOTATION_PREFIX + name, value]));
}

function accept(short: Record<string, string>): { value: IngressAnnotations; warnings: AnnotationProblem[] } {
  const result = parseIngressAnnotations(annotate(short));
  assert.ok(result.ok, result.ok ? "" : result.errors.map(formatAnnotationProblem).join("\n"));
  return result;
}

function reject(short: Record<string, string>): { errors: AnnotationProblem[]; warnings: AnnotationProblem[] } {
  const result = parseIngressAnnotations(annotate(short));
  assert.equal(result.ok, false, "expected the annotations to be rejected");
  return result.ok ? { errors: [], warnings: [] } : result;
}

function problem(name: string, value: string, message: string): AnnotationProblem {
  return { annotation: ANNOTATION_PREFIX + name, value, message };
}

const expectedDefaults: BackendPolicy = {
  loadBalance: "round-robin",
  ewmaDecayMs: 10_000,
  maxFails: 5,
  failOn5xx: false,
  retries: 1,
  retryOn: ["connect-failure"],
  connectTimeoutMs: 5_000,
  readTimeoutMs: 60_000,
  sslRedirect: true,
};

void describe("defaults", () => {
  void it("DEFAULT_BACKEND_POLICY has the documented values and nothing optional", () => {
    assert.deepEqual(DEFAULT_BACKEND_POLICY, expectedDefaults);
  });

  void it("DEFAULT_BACKEND_POLICY is frozen, including its retry list", () => {
    assert.equal(Object.isFrozen(DEFAULT_BACKEND_POLICY), true);
    assert.equal(Object.isFrozen(DEFAULT_BACKEND_POLICY.retryOn), true);
  });

  void it("an Ingress without turnout.dev annotations gets the defaults, no weight and no conditions", () => {
    const result = parseIngressAnnotations({ "kubernetes.io/ingress.class": "turnout", "example.com/weight": "x" });
    assert.deepEqual(result, { ok: true, value: { conditions: [], policy: expectedDefaults }, warnings: [] });
  });

  void it("returns a policy the caller may change without touching the defaults", () => {
    const { value } = accept({});
    value.policy.retryOn.push("5xx");
    assert.deepEqual(DEFAULT_BACKEND_POLICY.retryOn, ["connect-failure"]);
  });
});

void describe("valid values", () => {
  const cases: [Record<string, string>, Partial<BackendPolicy>][] = [
    [{ "load-balance": "round-robin" }, {}],
    [{ "load-balance": "random" }, { loadBalance: "random" }],
    [{ "load-balance": "least-request" }, { loadBalance: "least-request" }],
    [{ "load-balance": "ewma" }, { loadBalance: "ewma" }],
    [{ "load-balance": "ewma", "ewma-decay": "500ms" }, { loadBalance: "ewma", ewmaDecayMs: 500 }],
    [{ "load-balance": "ewma", "ewma-decay": "1m30s" }, { loadBalance: "ewma", ewmaDecayMs: 90_000 }],
    [{ affinity: "cookie" }, { affinity: { cookieName: "turnout-affinity" } }],
    [{ affinity: "cookie", "affinity-cookie-name": "SRV", "affinity-cookie-max-age": "3600" }, { affinity: { cookieName: "SRV", maxAgeSeconds: 3600 } }],
    [{ "affinity-cookie-max-age": "34560000", affinity: "cookie" }, { affinity: { cookieName: "turnout-affinity", maxAgeSeconds: 34_560_000 } }],
    [
      { "health-check-path": "/healthz" },
      { healthCheck: { path: "/healthz", intervalMs: 10_000, timeoutMs: 2_000, healthyThreshold: 2, unhealthyThreshold: 3 } },
    ],
    [
      {
        "health-check-path": "/status?full=1",
        "health-check-interval": "30s",
        "health-check-timeout": "5s",
        "health-check-healthy-threshold": "1",
        "health-check-unhealthy-threshold": "100",
        "health-check-port": "8081",
      },
      { healthCheck: { path: "/status?full=1", intervalMs: 30_000, timeoutMs: 5_000, healthyThreshold: 1, unhealthyThreshold: 100, port: 8081 } },
    ],
    [
      { "health-check-path": "/", "health-check-interval": "1s" },
      { healthCheck: { path: "/", intervalMs: 1_000, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 3 } },
    ],
    [
      { "health-check-path": "/h", "health-check-interval": "100ms", "health-check-port": "65535" },
      { healthCheck: { path: "/h", intervalMs: 100, timeoutMs: 50, healthyThreshold: 2, unhealthyThreshold: 3, port: 65_535 } },
    ],
    [{ "max-fails": "1" }, { maxFails: 1 }],
    [{ "max-fails": "1000" }, { maxFails: 1000 }],
    [{ "fail-on-5xx": "true" }, { failOn5xx: true }],
    [{ "fail-on-5xx": "false" }, {}],
    [{ retries: "0" }, { retries: 0 }],
    [{ retries: "10" }, { retries: 10 }],
    [{ "retry-on": "5xx, gateway-error,\nreset ,timeout,connect-failure" }, { retryOn: ["5xx", "gateway-error", "reset", "timeout", "connect-failure"] }],
    [{ "retry-on": "reset,reset,,5xx" }, { retryOn: ["reset", "5xx"] }],
    [{ "connect-timeout": "250ms" }, { connectTimeoutMs: 250 }],
    [{ "read-timeout": "1h" }, { readTimeoutMs: 3_600_000 }],
    [{ "send-timeout": "30s" }, { sendTimeoutMs: 30_000 }],
    [{ "ssl-redirect": "false" }, { sslRedirect: false }],
  ];
  for (const [annotations, changes] of cases) {
    void it(`${JSON.stringify(annotations)}`, () => {
      const { value, warnings } = accept(annotations);
      assert.deepEqual(value.policy, { ...expectedDefaults, ...changes });
      assert.deepEqual(warnings, []);
    });
  }
});

void describe("weight", () => {
  for (const [text, weight] of [["0", 0], ["1", 1], ["10", 10], ["100", 100], ["050", 50]] as const) {
    void it(`accepts ${JSON.stringify(text)} as ${weight}`, () => {
      assert.equal(accept({ weight: text }).value.weight, weight);
    });
  }

  void it("is absent when not annotated", () => {
    assert.equal(Object.hasOwn(accept({}).value, "weight"), false);
  });

  const invalid: [string, string][] = [
    ["101", "must be an integer from 0 to 100"],
    ["10.5", "must be an integer from 0 to 100"],
    ["-1", "must be an integer from 0 to 100"],
    ["+10", "must be an integer from 0 to 100"],
    ["1e1", "must be an integer from 0 to 100"],
    ["", "must be an integer from 0 to 100"],
    ["ten", "must be an integer from 0 to 100"],
    [" 10", "must not have leading or trailing whitespace"],
    ["10 ", "must not have leading or trailing whitespace"],
    [" ", "must not have leading or trailing whitespace"],
  ];
  for (const [text, message] of invalid) {
    void it(`rejects ${JSON.stringify(text)}`, () => {
      assert.deepEqual(reject({ weight: text }).errors, [problem("weight", text, message)]);
    });
  }

  void it("warns that weight is ignored on an Ingress with match conditions", () => {
    const { value, warnings } = accept({ weight: "10", "match-headers": "X-Canary=always" });
    assert.equal(value.weight, 10);
    assert.deepEqual(warnings, [
      problem("weight", "10", "is ignored because this Ingress has match conditions: it takes exactly the requests that match"),
    ]);
  });
});

void describe("match conditions", () => {
  void it("collects headers, then cookies, then query, each in written order", () => {
    const { value } = accept({
      "match-query": "variant=b",
      "match-cookies": "Group~(a|b), beta",
      "match-headers": "X-Canary=always\nX-Region~eu-[a-z]+",
    });
    assert.deepEqual(
      value.conditions.map(({ source, name, op, value: operand }) => [source, name, op, operand]),
      [
        ["header", "x-canary", "equals", "always"],
        ["header", "x-region", "regex", "eu-[a-z]+"],
        ["cookie", "Group", "regex", "(a|b)"],
        ["cookie", "beta", "present", undefined],
        ["query", "variant", "equals", "b"],
      ],
    );
    assert.equal(value.conditions[1]?.regex?.test("eu-west"), true);
    assert.equal(value.conditions[1]?.regex?.test("us-east"), false);
  });

  void it("rejects an annotation that is present but lists nothing", () => {
    assert.deepEqual(reject({ "match-headers": " , " }).errors, [
      problem("match-headers", " , ", "lists no condition; write header conditions as Name=value, Name~regex or Name, separated by commas or newlines"),
    ]);
  });
});

void describe("hash-by and load-balance", () => {
  const cases: [Record<string, string>, Pick<BackendPolicy, "loadBalance" | "hashBy">][] = [
    [{ "hash-by": "header:X-User-Id" }, { loadBalance: "ring-hash", hashBy: { kind: "header", name: "x-user-id" } }],
    [{ "hash-by": "cookie:SessionID" }, { loadBalance: "ring-hash", hashBy: { kind: "cookie", name: "SessionID" } }],
    [{ "hash-by": "query:userId" }, { loadBalance: "ring-hash", hashBy: { kind: "query", name: "userId" } }],
    [{ "hash-by": "source-ip" }, { loadBalance: "ring-hash", hashBy: { kind: "source-ip" } }],
    [{ "hash-by": "path" }, { loadBalance: "ring-hash", hashBy: { kind: "path" } }],
    [{ "hash-by": "uri" }, { loadBalance: "ring-hash", hashBy: { kind: "uri" } }],
    [{ "hash-by": "host" }, { loadBalance: "ring-hash", hashBy: { kind: "host" } }],
    [{ "hash-by": "source-ip", "load-balance": "ring-hash" }, { loadBalance: "ring-hash", hashBy: { kind: "source-ip" } }],
    [{ "hash-by": "header:X-User-Id", "load-balance": "maglev" }, { loadBalance: "maglev", hashBy: { kind: "header", name: "x-user-id" } }],
  ];
  for (const [annotations, expected] of cases) {
    void it(`${JSON.stringify(annotations)} -> ${expected.loadBalance}`, () => {
      const { policy } = accept(annotations).value;
      assert.deepEqual({ loadBalance: policy.loadBalance, hashBy: policy.hashBy }, expected);
    });
  }

  for (const policy of ["round-robin", "random", "least-request", "ewma"]) {
    void it(`rejects hash-by with load-balance ${policy}`, () => {
      assert.deepEqual(reject({ "hash-by": "source-ip", "load-balance": policy }).errors, [
        problem(
          "hash-by",
          "source-ip",
          `cannot be used with turnout.dev/load-balance "${policy}": hashing needs ring-hash or maglev (leave load-balance out for ring-hash)`,
        ),
      ]);
    });
  }

  for (const policy of ["ring-hash", "maglev"]) {
    void it(`rejects load-balance ${policy} without hash-by`, () => {
      assert.deepEqual(reject({ "load-balance": policy }).errors, [
        problem("load-balance", policy, "needs turnout.dev/hash-by to say what to hash, e.g. header:X-User-Id or source-ip"),
      ]);
    });
  }

  const invalidHashBy: [string, string][] = [
    ["ip", "must be header:<name>, cookie:<name>, query:<name>, source-ip, path, uri, host"],
    ["Header:X-User-Id", "must be header:<name>, cookie:<name>, query:<name>, source-ip, path, uri, host"],
    ["header:", "header name is empty"],
    ["header:X User", "header name must consist of letters, digits and !#$%&'*+-.^_`|~"],
    ["cookie:a;b", "cookie name must consist of letters, digits and !#$%&'*+-.^_`|~"],
    ["query:a=b", "query parameter name must not contain whitespace, control characters or & = # , ~"],
  ];
  for (const [text, message] of invalidHashBy) {
    void it(`rejects hash-by ${JSON.stringify(text)}`, () => {
      assert.deepEqual(reject({ "hash-by": text }).errors, [problem("hash-by", text, message)]);
    });
  }

  void it("does not pile a missing-hash-by error on top of an invalid hash-by", () => {
    assert.deepEqual(reject({ "hash-by": "ip", "load-balance": "maglev" }).errors.map((error) => error.annotation), [
      "turnout.dev/hash-by",
    ]);
  });

  void it("rejects an unknown policy, spelled exactly", () => {
    assert.deepEqual(reject({ "load-balance": "Round-Robin" }).errors, [
      problem("load-balance", "Round-Robin", "must be one of round-robin, random, least-request, ewma, ring-hash, maglev"),
    ]);
  });

  void it("warns that ewma-decay is ignored unless load-balance is ewma", () => {
    const warning = problem("ewma-decay", "5s", 'is ignored: it is only used with turnout.dev/load-balance "ewma"');
    assert.deepEqual(accept({ "ewma-decay": "5s" }).warnings, [warning]);
    assert.deepEqual(accept({ "ewma-decay": "5s", "load-balance": "random" }).warnings, [warning]);
    assert.deepEqual(accept({ "ewma-decay": "5s", "load-balance": "ewma" }).warnings, []);
  });
});

void describe("other invalid values", () => {
  const cases: [string, string, string][] = [
    ["affinity", "ip", "must be one of cookie"],
    ["affinity-cookie-name", "my cookie", "cookie name must consist of letters, digits and !#$%&'*+-.^_`|~"],
    ["affinity-cookie-max-age", "0", "must be a whole number of seconds from 1 to 34560000 (400 days)"],
    ["affinity-cookie-max-age", "34560001", "must be a whole number of seconds from 1 to 34560000 (400 days)"],
    ["ewma-decay", "10", "must be a duration such as 500ms, 10s, 1m or 1m30s (whole numbers with units h, m, s, ms, largest first)"],
    ["health-check-path", "healthz", "must be an absolute path such as /healthz: a single leading /, then only URL characters (no spaces, #, or non-ASCII; percent-encode them)"],
    ["health-check-path", "//evil.example/x", "must be an absolute path such as /healthz: a single leading /, then only URL characters (no spaces, #, or non-ASCII; percent-encode them)"],
    ["health-check-path", "/a b", "must be an absolute path such as /healthz: a single leading /, then only URL characters (no spaces, #, or non-ASCII; percent-encode them)"],
    ["health-check-path", "/a#b", "must be an absolute path such as /healthz: a single leading /, then only URL characters (no spaces, #, or non-ASCII; percent-encode them)"],
    ["health-check-path", `/${"a".repeat(1024)}`, "must be at most 1024 characters"],
    ["health-check-interval", "50ms", "must be at least 100ms"],
    ["health-check-timeout", "0s", "must be longer than zero"],
    ["health-check-healthy-threshold", "0", "must be an integer from 1 to 100"],
    ["health-check-unhealthy-threshold", "101", "must be an integer from 1 to 100"],
    ["health-check-port", "0", "must be an integer from 1 to 65535"],
    ["health-check-port", "65536", "must be an integer from 1 to 65535"],
    ["health-check-port", "http", "must be an integer from 1 to 65535"],
    ["max-fails", "0", "must be an integer from 1 to 1000"],
    ["max-fails", "1001", "must be an integer from 1 to 1000"],
    ["fail-on-5xx", "True", 'must be "true" or "false"'],
    ["fail-on-5xx", "1", 'must be "true" or "false"'],
    ["retries", "11", "must be an integer from 0 to 10"],
    ["retry-on", "", "lists no retry condition; use connect-failure, reset, timeout, 5xx, gateway-error"],
    ["retry-on", "5xx,502", '"502" is not a retry condition; use connect-failure, reset, timeout, 5xx, gateway-error'],
    ["connect-timeout", "2h", "must be at most 1h"],
    ["read-timeout", "1.5s", "must be a duration such as 500ms, 10s, 1m or 1m30s (whole numbers with units h, m, s, ms, largest first)"],
    ["send-timeout", "-5s", "must be a duration such as 500ms, 10s, 1m or 1m30s (whole numbers with units h, m, s, ms, largest first)"],
    ["ssl-redirect", "yes", 'must be "true" or "false"'],
    ["ssl-redirect", "false ", "must not have leading or trailing whitespace"],
  ];
  for (const [name, text, message] of cases) {
    void it(`${name}: ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`, () => {
      const annotations: Record<string, string> = { [name]: text };
      if (name.startsWith("health-check-") && name !== "health-check-path") annotations["health-check-path"] = "/healthz";
      if (name.startsWith("affinity-")) annotations.affinity = "cookie";
      assert.deepEqual(reject(annotations).errors, [problem(name, text, message)]);
    });
  }
});

void describe("rules between annotations", () => {
  void it("rejects a health-check timeout that is not shorter than the interval", () => {
    assert.deepEqual(
      reject({ "health-check-path": "/h", "health-check-interval": "5s", "health-check-timeout": "5s" }).errors,
      [problem("health-check-timeout", "5s", "must be shorter than turnout.dev/health-check-interval (5s)")],
    );
    assert.deepEqual(reject({ "health-check-path": "/h", "health-check-timeout": "15s" }).errors, [
      problem("health-check-timeout", "15s", "must be shorter than turnout.dev/health-check-interval (10s by default)"),
    ]);
  });

  void it("reports an invalid interval once, without comparing the timeout to it", () => {
    assert.deepEqual(
      reject({ "health-check-path": "/h", "health-check-interval": "soon", "health-check-timeout": "30s" }).errors.map(
        (error) => error.annotation,
      ),
      ["turnout.dev/health-check-interval"],
    );
  });

  void it("warns about health-check options without health-check-path and leaves health checks off", () => {
    const { value, warnings } = accept({ "health-check-interval": "5s", "health-check-port": "9000" });
    assert.equal(value.policy.healthCheck, undefined);
    assert.deepEqual(warnings, [
      problem("health-check-interval", "5s", "is ignored without turnout.dev/health-check-path"),
      problem("health-check-port", "9000", "is ignored without turnout.dev/health-check-path"),
    ]);
  });

  void it("warns about affinity cookie options without affinity", () => {
    const { value, warnings } = accept({ "affinity-cookie-name": "SRV", "affinity-cookie-max-age": "60" });
    assert.equal(value.policy.affinity, undefined);
    assert.deepEqual(warnings, [
      problem("affinity-cookie-name", "SRV", "is ignored without turnout.dev/affinity: cookie"),
      problem("affinity-cookie-max-age", "60", "is ignored without turnout.dev/affinity: cookie"),
    ]);
  });

  void it("warns that retry-on has no effect without retries", () => {
    const { value, warnings } = accept({ retries: "0", "retry-on": "5xx" });
    assert.deepEqual(value.policy.retryOn, ["5xx"]);
    assert.deepEqual(warnings, [problem("retry-on", "5xx", 'has no effect with turnout.dev/retries "0"')]);
  });
});

void describe("unknown turnout.dev annotations", () => {
  const cases: [string, string][] = [
    ["wieght", "did you mean turnout.dev/weight?"],
    ["Weight", "did you mean turnout.dev/weight?"],
    ["hash_by", "did you mean turnout.dev/hash-by?"],
    ["match-header", "did you mean turnout.dev/match-headers?"],
    ["retires", "did you mean turnout.dev/retries?"],
    ["loadbalance", "did you mean turnout.dev/load-balance?"],
    ["healthcheck-path", "did you mean turnout.dev/health-check-path?"],
    ["rate-limit", "see docs/annotations.md for the known ones"],
    ["", "see docs/annotations.md for the known ones"],
  ];
  for (const [name, hint] of cases) {
    void it(`warns about ${JSON.stringify(name)}: ${hint}`, () => {
      const { warnings } = accept({ [name]: "1" });
      assert.deepEqual(warnings, [problem(name, "1", `is not a known turnout.dev annotation and is ignored; ${hint}`)]);
    });
  }

  void it("ignores annotations with other prefixes", () => {
    assert.deepEqual(parseIngressAnnotations({ "nginx.ingress.kubernetes.io/weight": "1", "turnout.dev.example/x": "1" }).ok, true);
    assert.deepEqual(accept({}).warnings, []);
  });

  void it("lists unknown keys in sorted order", () => {
    assert.deepEqual(
      accept({ zzz: "1", aaa: "2" }).warnings.map((warning) => warning.annotation),
      ["turnout.dev/aaa", "turnout.dev/zzz"],
    );
  });
});

void describe("reporting", () => {
  void it("reports every error at once, in documented annotation order, with warnings alongside", () => {
    const result = reject({
      retries: "11",
      weight: "101",
      "match-headers": "X-A~(a+)+, X B",
      "hash-by": "source-ip",
      "load-balance": "random",
      "health-check-port": "99999",
      "max-retries": "3",
    });
    assert.deepEqual(result.errors, [
      problem("weight", "101", "must be an integer from 0 to 100"),
      problem(
        "match-headers",
        "X-A~(a+)+, X B",
        'entry "X-A~(a+)+": regular expression nests the quantifier a+ inside the repeated (a+)+, which can backtrack catastrophically',
      ),
      problem("match-headers", "X-A~(a+)+, X B", `entry "X B": header name must consist of letters, digits and !#$%&'*+-.^_\`|~`),
      problem("health-check-port", "99999", "must be an integer from 1 to 65535"),
      problem("retries", "11", "must be an integer from 0 to 10"),
      problem(
        "hash-by",
        "source-ip",
        'cannot be used with turnout.dev/load-balance "random": hashing needs ring-hash or maglev (leave load-balance out for ring-hash)',
      ),
    ]);
    assert.deepEqual(result.warnings, [
      problem("health-check-port", "99999", "is ignored without turnout.dev/health-check-path"),
      problem("max-retries", "3", "is not a known turnout.dev annotation and is ignored; see docs/annotations.md for the known ones"),
    ]);
  });

  void it("does not depend on the order of the input keys", () => {
    const forward = { weight: "x", retries: "y", zz: "1" };
    const backward = { zz: "1", retries: "y", weight: "x" };
    assert.deepEqual(parseIngressAnnotations(annotate(forward)), parseIngressAnnotations(annotate(backward)));
  });

  void it("formats a problem as annotation, quoted value and reason", () => {
    assert.equal(
      formatAnnotationProblem(problem("match-headers", "a\nb c", "entry \"b c\": header name must …")),
      'turnout.dev/match-headers "a\\nb c": entry "b c": header name must …',
    );
  });
});
