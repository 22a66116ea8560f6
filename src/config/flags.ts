// Install-time configuration: command-line flags and TURNOUT_* environment
// variables, parsed by one zod schema, reported all at once, then frozen.
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { closestMatch } from "./edit-distance.ts";

export const CONTROLLER_NAME = "turnout.dev/ingress-controller";

/** Upper bound of --workers (and of its default on a very wide machine). */
export const MAX_WORKERS = 64;

/** --workers when unset: one per CPU this process may run on. */
export function defaultWorkers(): number {
  return Math.min(MAX_WORKERS, availableParallelism());
}

const nsName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, "must be namespace/name")
  .transform((v) => {
    const [namespace = "", name = ""] = v.split("/");
    return { namespace, name };
  });

const serviceWithPort = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9]*[a-z0-9])?:([0-9]{1,5}|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/,
    "must be namespace/name:port (port number or name)",
  )
  .transform((v) => {
    const [ref = "", port = ""] = v.split(":");
    const [namespace = "", name = ""] = ref.split("/");
    return { namespace, name, port: /^[0-9]+$/.test(port) ? Number(port) : port };
  });

const port = z.coerce.number().int().min(0).max(65535);

const boolFlag = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0", ""])])
  .transform((v) => v === true || v === "true" || v === "1" || v === "");

/** `500ms`, `5s`, `2m`: a duration in milliseconds. */
const duration = z
  .string()
  .regex(/^[0-9]+(ms|s|m)$/, "must be a duration such as 500ms, 5s or 2m")
  .transform((v) => {
    const amount = Number.parseInt(v, 10);
    if (v.endsWith("ms")) return amount;
    return v.endsWith("m") ? amount * 60_000 : amount * 1000;
  });

interface FlagSpec {
  type: "string" | "boolean";
  description: string;
  default?: string;
  schema: z.ZodType;
}

/** Every flag: its help text and how its value is parsed. Order is the --help order. */
const FLAGS = {
  kubeconfig: { type: "string", description: "Path to a kubeconfig file (cluster mode). Default: in-cluster service account when running in a pod, else file mode.", schema: z.string().min(1).optional() },
  manifests: { type: "string", description: "Serve the Ingress, Service, EndpointSlice, IngressClass and Secret YAML files in this folder (file mode), reloading on change.", schema: z.string().min(1).optional() },
  "ingress-class": { type: "string", description: "IngressClass name turnout answers to (also the legacy kubernetes.io/ingress.class value).", default: "turnout", schema: z.string().regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, "must be a DNS subdomain name") },
  "controller-class": {
    type: "string",
    description: "The spec.controller value of the IngressClasses turnout serves; give each install its own to run several side by side.",
    default: CONTROLLER_NAME,
    schema: z.string().max(250).regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?\/[A-Za-z0-9._~/-]+$/, "must be a domain-prefixed path, e.g. example.com/ingress-controller"),
  },
  "watch-namespace": { type: "string", description: "Watch namespaced objects in this namespace only. Default: all namespaces.", schema: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a namespace name").optional() },
  "watch-ingress-without-class": { type: "boolean", description: "Also serve Ingresses that name no class at all.", default: "false", schema: boolFlag },
  "http-port": { type: "string", description: "Port of the HTTP listener.", default: "8080", schema: port },
  "https-port": { type: "string", description: "Port of the HTTPS listener.", default: "8443", schema: port },
  "https-redirect-port": { type: "string", description: "Port that HTTP-to-HTTPS redirects name. Default: 443 in a cluster (behind the Service), the --https-port in file mode.", schema: z.coerce.number().int().min(1).max(65535).optional() },
  "admin-port": { type: "string", description: "Port of the admin server (/healthz, /readyz, /metrics, /debug/routes).", default: "10254", schema: port },
  "bind-address": { type: "string", description: "Address the listeners bind to.", default: "0.0.0.0", schema: z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address" }) },
  "default-backend-service": { type: "string", description: "namespace/name:port of the Service that answers requests no Ingress matches.", schema: serviceWithPort.optional() },
  "publish-service": { type: "string", description: "namespace/name of the Service whose load-balancer address is written to Ingress status.", schema: nsName.optional() },
  "publish-status-address": { type: "string", description: "Comma-separated IPs or hostnames written to Ingress status (overrides --publish-service).", schema: z.string().min(1).optional() },
  "default-ssl-certificate": { type: "string", description: "namespace/name of the TLS Secret served when no Ingress certificate matches.", schema: nsName.optional() },
  "election-id": { type: "string", description: "Name of the Lease used to elect the replica that writes Ingress status.", default: "turnout-leader", schema: z.string().regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, "must be a DNS subdomain name") },
  "shutdown-delay": { type: "string", description: "On SIGTERM, keep serving this long with /readyz failing, so load balancers notice.", default: "5s", schema: duration },
  "shutdown-grace": { type: "string", description: "Then wait this long at most for in-flight requests before exiting.", default: "30s", schema: duration },
  "log-level": { type: "string", description: "debug, info, warn or error.", default: "info", schema: z.enum(["debug", "info", "warn", "error"]) },
  workers: {
    type: "string",
    description: `Proxy worker processes (1 to ${MAX_WORKERS}); 1 runs everything in one process. Default: the number of CPUs turnout may use (os.availableParallelism(), which does not see a container CPU limit: set it in a pod).`,
    schema: z.coerce.number().int().min(1).max(MAX_WORKERS).optional(),
  },
  "worker-unresponsive-timeout": {
    type: "string",
    description: "With more than one worker, a worker that answers none of the primary's pings for this long (a hung event loop) is killed and restarted; 0s: never.",
    default: "10s",
    schema: duration,
  },
  "reuse-port": {
    type: "boolean",
    description: "With more than one worker, each worker listens on a socket of its own (SO_REUSEPORT) and the kernel deals new connections out by hash. --no-reuse-port: the workers accept from one shared socket. Linux only; not used for port 0.",
    default: "true",
    schema: boolFlag,
  },
} satisfies Record<string, FlagSpec>;

type FlagName = keyof typeof FLAGS;
type FlagValues = { [K in FlagName]: z.output<(typeof FLAGS)[K]["schema"]> };

export interface Config {
  kubeconfig: string | undefined;
  manifests: string | undefined;
  ingressClass: string;
  /** The IngressClass spec.controller value turnout claims. */
  controllerClass: string;
  watchNamespace: string | undefined;
  watchIngressWithoutClass: boolean;
  httpPort: number;
  httpsPort: number;
  httpsRedirectPort: number;
  adminPort: number;
  bindAddress: string;
  defaultBackendService: FlagValues["default-backend-service"];
  publishService: FlagValues["publish-service"];
  publishStatusAddresses: string[];
  defaultSslCertificate: FlagValues["default-ssl-certificate"];
  electionId: string;
  shutdownDelayMs: number;
  shutdownGraceMs: number;
  logLevel: FlagValues["log-level"];
  /** Proxy worker processes; 1: control plane and proxy in one process. */
  workers: number;
  /** Workers listen with SO_REUSEPORT, each on its own socket (fixed ports only). */
  reusePort: boolean;
  /** A worker silent this long is killed and restarted; 0: never. */
  workerUnresponsiveTimeoutMs: number;
  /** Where routing config comes from: a YAML folder, a kubeconfig, or in-cluster credentials. */
  mode: "files" | "cluster";
}

export type ConfigResult = { ok: true; config: Readonly<Config> } | { ok: false; errors: string[] } | { ok: "help"; text: string };

export function envName(flag: string): string {
  return `TURNOUT_${flag.toUpperCase().replaceAll("-", "_")}`;
}

type ArgToken = NonNullable<ReturnType<typeof parseArgs>["tokens"]>[number];

/** Unknown flags (with a suggestion when one is close), string flags without a value, and stray arguments. */
function commandLineErrors(tokens: readonly ArgToken[], options: Readonly<Record<string, { type: "string" | "boolean" }>>): string[] {
  const errors: string[] = [];
  // "--wrokers 2": the 2 belongs to the unknown flag, and is not reported again.
  let valueOfUnknown = false;
  for (const token of tokens) {
    const wasValueOfUnknown = valueOfUnknown;
    valueOfUnknown = false;
    if (token.kind === "option") {
      const known = options[token.name];
      if (known === undefined) {
        const suggestion = closestMatch(token.name, Object.keys(options), 2);
        errors.push(`unknown flag ${token.rawName}${suggestion === undefined ? "" : `: did you mean --${suggestion}?`}`);
        valueOfUnknown = token.value === undefined;
      } else if (known.type === "string" && token.value === undefined) {
        errors.push(`${token.rawName}: a value is missing (--${token.name}=VALUE)`);
      }
    } else if (token.kind === "positional" && !wasValueOfUnknown) {
      errors.push(`unexpected argument ${JSON.stringify(token.value)}: flags take the form --name=value`);
    }
  }
  return errors;
}

/** Parses argv (without node and script) and env; every problem is reported, not just the first. */
export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const [name, spec] of Object.entries(FLAGS)) options[name] = { type: spec.type };
  // Not strict: parseArgs would throw on the first unknown flag, hiding every other problem.
  const parsed = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, allowNegative: true, tokens: true });
  const errors = commandLineErrors(parsed.tokens, options);
  if (parsed.values.help === true && errors.length === 0) return { ok: "help", text: helpText() };

  const values: Partial<Record<FlagName, unknown>> = {};
  for (const [name, spec] of Object.entries(FLAGS) as [FlagName, FlagSpec][]) {
    // A string flag without its value is already reported.
    if (spec.type === "string" && parsed.values[name] === true) continue;
    const raw = parsed.values[name] ?? env[envName(name)] ?? spec.default;
    const result = spec.schema.safeParse(raw);
    if (result.success) values[name] = result.data;
    else {
      const source = parsed.values[name] !== undefined ? `--${name}` : `${envName(name)}`;
      errors.push(`${source}=${String(raw)}: ${result.error.issues.map((i) => i.message).join("; ")}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const v = values as FlagValues;
  if (v.kubeconfig !== undefined && v.manifests !== undefined) {
    return { ok: false, errors: ["--kubeconfig and --manifests are exclusive: choose cluster mode or file mode"] };
  }
  const inCluster = env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== "";
  const mode = v.manifests !== undefined || (v.kubeconfig === undefined && !inCluster) ? "files" : "cluster";
  const config: Config = {
    kubeconfig: v.kubeconfig,
    manifests: mode === "files" ? (v.manifests ?? fileURLToPath(new URL("../../examples/manifests", import.meta.url))) : undefined,
    ingressClass: v["ingress-class"],
    controllerClass: v["controller-class"],
    watchNamespace: v["watch-namespace"],
    watchIngressWithoutClass: v["watch-ingress-without-class"],
    httpPort: v["http-port"],
    httpsPort: v["https-port"],
    httpsRedirectPort: v["https-redirect-port"] ?? (mode === "cluster" ? 443 : v["https-port"]),
    adminPort: v["admin-port"],
    bindAddress: v["bind-address"],
    defaultBackendService: v["default-backend-service"],
    publishService: v["publish-service"],
    publishStatusAddresses: (v["publish-status-address"] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""),
    defaultSslCertificate: v["default-ssl-certificate"],
    electionId: v["election-id"],
    shutdownDelayMs: v["shutdown-delay"],
    shutdownGraceMs: v["shutdown-grace"],
    logLevel: v["log-level"],
    workers: v.workers ?? defaultWorkers(),
    reusePort: v["reuse-port"],
    workerUnresponsiveTimeoutMs: v["worker-unresponsive-timeout"],
    mode,
  };
  return { ok: true, config: Object.freeze(config) };
}

export function helpText(): string {
  const lines = [
    "turnout: a Kubernetes Ingress controller.",
    "",
    "Usage: turnout [flags]",
    "",
    "Without --kubeconfig and outside a cluster, turnout runs in file mode on --manifests (default: the bundled examples/manifests).",
    "Every flag can also be set by the environment variable shown.",
    "",
  ];
  for (const [name, spec] of Object.entries(FLAGS) as [FlagName, FlagSpec][]) {
    const flag = spec.type === "boolean" ? `--${name}` : `--${name} VALUE`;
    lines.push(`  ${flag}`);
    lines.push(`      ${spec.description}`);
    lines.push(`      env ${envName(name)}${spec.default !== undefined ? `, default ${spec.default}` : ""}`);
  }
  lines.push("  --help", "      Print this help.");
  return lines.join("\n");
}
