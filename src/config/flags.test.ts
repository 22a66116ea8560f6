// Flags and TURNOUT_* environment variables: defaults, precedence, modes, and
// every invalid value reported at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { envName, helpText, parseConfig } from "./flags.ts";

function config(argv: string[], env: Record<string, string> = {}) {
  const result = parseConfig(argv, env);
  if (result.ok !== true) assert.fail(`expected a valid config, got ${JSON.stringify(result)}`);
  return result.config;
}

test("defaults: file mode on the bundled examples outside a cluster", () => {
  const c = config([]);
  assert.equal(c.mode, "files");
  assert.match(c.manifests ?? "", /examples\/manifests$/);
  assert.equal(c.httpPort, 8080);
  assert.equal(c.httpsPort, 8443);
  assert.equal(c.adminPort, 10254);
  assert.equal(c.ingressClass, "turnout");
  assert.equal(c.shutdownDelayMs, 5000);
  assert.equal(c.shutdownGraceMs, 30_000);
  assert.equal(c.httpsRedirectPort, 8443);
  assert.ok(Object.isFrozen(c));
});

test("cluster mode with --kubeconfig, or in a pod; redirects then name port 443", () => {
  assert.equal(config(["--kubeconfig", "/k"]).mode, "cluster");
  const inPod = config([], { KUBERNETES_SERVICE_HOST: "10.0.0.1" });
  assert.equal(inPod.mode, "cluster");
  assert.equal(inPod.httpsRedirectPort, 443);
});

test("flags win over environment variables, which win over defaults", () => {
  assert.equal(config([], { TURNOUT_HTTP_PORT: "9000" }).httpPort, 9000);
  assert.equal(config(["--http-port", "9100"], { TURNOUT_HTTP_PORT: "9000" }).httpPort, 9100);
  assert.equal(config([], { TURNOUT_WATCH_INGRESS_WITHOUT_CLASS: "true" }).watchIngressWithoutClass, true);
  assert.equal(envName("default-backend-service"), "TURNOUT_DEFAULT_BACKEND_SERVICE");
});

test("structured values are parsed", () => {
  const c = config(["--default-backend-service", "infra/fallback:http", "--publish-service", "edge/turnout", "--publish-status-address", "192.0.2.1, lb.example.com", "--shutdown-delay", "1500ms"]);
  assert.deepEqual(c.defaultBackendService, { namespace: "infra", name: "fallback", port: "http" });
  assert.deepEqual(c.publishService, { namespace: "edge", name: "turnout" });
  assert.deepEqual(c.publishStatusAddresses, ["192.0.2.1", "lb.example.com"]);
  assert.equal(c.shutdownDelayMs, 1500);
});

test("every invalid value is reported at once, naming where it came from", () => {
  const result = parseConfig(["--http-port", "70000", "--log-level", "loud"], { TURNOUT_SHUTDOWN_GRACE: "soon", TURNOUT_BIND_ADDRESS: "nowhere" });
  assert.equal(result.ok, false);
  const errors = result.ok === false ? result.errors : [];
  assert.equal(errors.length, 4, errors.join("\n"));
  assert.ok(errors.some((e) => e.startsWith("--http-port=70000")));
  assert.ok(errors.some((e) => e.startsWith("--log-level=loud")));
  assert.ok(errors.some((e) => e.startsWith("TURNOUT_SHUTDOWN_GRACE=soon")));
  assert.ok(errors.some((e) => e.startsWith("TURNOUT_BIND_ADDRESS=nowhere")));
});

test("an unknown flag is reported with every other problem, with a suggestion when one is close", () => {
  const result = parseConfig(["--wrokers", "2", "--http-port=70000", "stray", "--no-such-flag", "--log-level"], {});
  assert.equal(result.ok, false);
  const errors = result.ok === false ? result.errors : [];
  assert.deepEqual(errors.slice(0, 4), [
    "unknown flag --wrokers: did you mean --workers?",
    'unexpected argument "stray": flags take the form --name=value',
    "unknown flag --no-such-flag",
    "--log-level: a value is missing (--log-level=VALUE)",
  ]);
  assert.equal(errors.length, 5);
  assert.ok(errors[4]?.startsWith("--http-port=70000: "), errors[4]);
});

test("unknown flags and contradictory modes are errors; --help documents every flag", () => {
  assert.equal(parseConfig(["--no-such-flag"], {}).ok, false);
  assert.equal(parseConfig(["--kubeconfig", "/k", "--manifests", "/m"], {}).ok, false);
  const help = parseConfig(["--help"], {});
  assert.equal(help.ok, "help");
  for (const flag of ["--kubeconfig", "--manifests", "--ingress-class", "--watch-namespace", "--watch-ingress-without-class", "--http-port", "--https-port", "--admin-port", "--bind-address", "--default-backend-service", "--publish-service", "--publish-status-address", "--log-level"]) {
    assert.ok(helpText().includes(flag), flag);
  }
});

test("--workers: one per CPU by default, 1 to 64, also from TURNOUT_WORKERS", () => {
  assert.equal(config([]).workers, Math.min(64, availableParallelism()));
  assert.equal(config(["--workers", "1"]).workers, 1);
  assert.equal(config([], { TURNOUT_WORKERS: "4" }).workers, 4);
  assert.equal(config(["--workers=3"], { TURNOUT_WORKERS: "4" }).workers, 3);
  for (const bad of ["0", "65", "1.5", "many"]) {
    const result = parseConfig(["--workers", bad], {});
    assert.equal(result.ok, false, bad);
    assert.ok(result.ok === false && result.errors[0]?.startsWith(`--workers=${bad}: `), JSON.stringify(result));
  }
  assert.ok(helpText().includes("--workers VALUE"));
  assert.ok(helpText().includes("env TURNOUT_WORKERS"));
});

test("--reuse-port: on by default, off with --no-reuse-port or TURNOUT_REUSE_PORT=false", () => {
  assert.equal(config([]).reusePort, true);
  assert.equal(config(["--no-reuse-port"]).reusePort, false);
  assert.equal(config([], { TURNOUT_REUSE_PORT: "false" }).reusePort, false);
  assert.equal(config(["--reuse-port"], { TURNOUT_REUSE_PORT: "false" }).reusePort, true);
  const result = parseConfig([], { TURNOUT_REUSE_PORT: "sometimes" });
  assert.ok(result.ok === false && result.errors[0]?.startsWith("TURNOUT_REUSE_PORT=sometimes: "), JSON.stringify(result));
});

test("--controller-class: turnout's controller by default; a domain-prefixed path otherwise", () => {
  assert.equal(config([]).controllerClass, "turnout.dev/ingress-controller");
  assert.equal(config(["--controller-class", "internal.example.com/turnout"]).controllerClass, "internal.example.com/turnout");
  for (const bad of ["turnout", "Example.com/x", "example.com/", "/x"]) {
    const result = parseConfig(["--controller-class", bad], {});
    assert.ok(result.ok === false && result.errors[0]?.startsWith(`--controller-class=${bad}: `), `${bad}: ${JSON.stringify(result)}`);
  }
});
