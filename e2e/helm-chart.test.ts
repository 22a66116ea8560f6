// Chart tests with the offline helm: lint and schema, what the rendered objects grant and run, the freshness of
// manifests/turnout.yaml, the Grafana dashboard's metric names and the Dockerfile's invariants.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { loadAllYaml, loadYaml } from "@kubernetes/client-node";
import { z } from "zod";
import { CONTROLLER_NAME, parseConfig } from "../src/config/flags.ts";
import { copies, dockerIgnores, instructions, packageName, parseDockerfile, runtimeModuleGraph, workdir } from "./tools/dockerfile.ts";
import { REPO_ROOT, runHelm } from "./tools/helm.ts";
import { MANIFEST_PATH, REGENERATE_COMMAND, renderDefaultManifests } from "./tools/render-manifests.ts";
import {
  CHART, CI, RELEASE_NAMESPACE, bindingSchema, containerPort, controller, flag, grants, helmTemplate, metadataSchema,
  objectSchema, ofKind, one, render, roleSchema, serviceMonitorSchema, serviceSchema, stringMap,
} from "./tools/chart-objects.ts";
import type { K8sObject } from "./tools/chart-objects.ts";

const WATCH_GRANTS = [
  "core events create",
  "core secrets list",
  "core secrets watch",
  "core services list",
  "core services watch",
  "discovery.k8s.io endpointslices list",
  "discovery.k8s.io endpointslices watch",
  "networking.k8s.io ingresses list",
  "networking.k8s.io ingresses watch",
  "networking.k8s.io ingresses/status patch",
];
const CLASS_GRANTS = ["networking.k8s.io ingressclasses list", "networking.k8s.io ingressclasses watch"];
const ALL_GRANTS = [...WATCH_GRANTS, ...CLASS_GRANTS].sort();

const TURNOUT_METRICS = [
  "turnout_requests_total",
  "turnout_request_duration_seconds",
  "turnout_upstream_response_duration_seconds",
  "turnout_config_generation",
  "turnout_reloads_total",
  "turnout_endpoints",
  "turnout_watch_restarts_total",
];

const rendered: Record<"defaults" | "allFeatures" | "daemonSet" | "namespacedRbac" | "singleReplica", K8sObject[]> = {
  defaults: [],
  allFeatures: [],
  daemonSet: [],
  namespacedRbac: [],
  singleReplica: [],
};

before(async () => {
  [rendered.defaults, rendered.allFeatures, rendered.daemonSet, rendered.namespacedRbac, rendered.singleReplica] = await Promise.all([
    render(),
    render("-f", CI.allFeatures),
    render("-f", CI.daemonSet),
    render("-f", CI.namespacedRbac),
    render("--set", "replicaCount=1"),
  ]);
});

void describe("helm lint", () => {
  void test("passes --strict with default values and with every ci/ values file", async () => {
    const variants = [[], ...Object.values(CI).map((file) => ["-f", file])];
    const results = await Promise.all(variants.map((args) => runHelm(["lint", "--strict", CHART, ...args])));
    results.forEach((result, i) => assert.equal(result.code, 0, `lint ${variants[i]?.join(" ")}:\n${result.stdout}${result.stderr}`));
  });

  const badValues: [string, string][] = [
    ["service.type=Foo", "/service/type"],
    ["replicaCount=-1", "/replicaCount"],
    ["kind=StatefulSet", "/kind"],
    ["controller.logLevel=verbose", "/controller/logLevel"],
    ["controller.ports.admin=70000", "/controller/ports/admin"],
    ["controller.shutdownDelaySeconds=5s", "/controller/shutdownDelaySeconds"],
    ["image.pullPolicy=Sometimes", "/image/pullPolicy"],
    ["rbac.scope=everywhere", "/rbac/scope"],
    ["controller.publishService.pathOverride=just-a-name", "/controller/publishService/pathOverride"],
    ["replicas=3", "'replicas' not allowed"],
  ];
  void test("rejects bad values through values.schema.json, naming the offending value", async () => {
    const results = await Promise.all(badValues.map(([set]) => runHelm(["lint", CHART, "--set", set])));
    results.forEach((result, i) => {
      const [set, mention] = badValues[i] ?? ["", ""];
      assert.notEqual(result.code, 0, `lint accepted ${set}`);
      assert.ok(`${result.stdout}${result.stderr}`.includes(mention), `lint output for ${set} does not mention ${mention}`);
    });
  });
});

void describe("helm template", () => {
  const contradictions: [string, string][] = [
    ["terminationGracePeriodSeconds=10", "terminationGracePeriodSeconds=10 is too short"],
    ["kind=DaemonSet,autoscaling.enabled=true", "autoscaling.enabled works with kind: Deployment only"],
    ["rbac.scope=namespace", "rbac.scope: namespace needs controller.watchNamespace"],
    ["autoscaling.enabled=true,autoscaling.minReplicas=5,autoscaling.maxReplicas=3", "minReplicas (5) is above autoscaling.maxReplicas (3)"],
  ];
  void test("refuses contradictory values with a message naming them", async () => {
    const results = await Promise.all(contradictions.map(([set]) => helmTemplate(["--set", set])));
    results.forEach((result, i) => {
      const [set, message] = contradictions[i] ?? ["", ""];
      assert.notEqual(result.code, 0, `template accepted ${set}`);
      assert.ok(result.stderr.includes(message), `stderr for ${set} lacks "${message}":\n${result.stderr}`);
    });
  });

  void test("renders well-formed objects with the standard labels, namespaced in the release namespace", () => {
    const clusterScoped = new Set(["ClusterRole", "ClusterRoleBinding", "IngressClass"]);
    for (const [variant, objects] of Object.entries(rendered)) {
      assert.ok(objects.length > 0, variant);
      for (const o of objects) {
        const where = `${variant}: ${o.kind}/${o.metadata.name}`;
        for (const label of ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"]) {
          assert.ok(o.metadata.labels[label], `${where} lacks label ${label}`);
        }
        if (clusterScoped.has(o.kind)) assert.equal(o.metadata.namespace, undefined, where);
        else if (!["Role", "RoleBinding", "ConfigMap"].includes(o.kind)) assert.equal(o.metadata.namespace, RELEASE_NAMESPACE, where);
      }
    }
    assert.deepEqual(rendered.defaults.map((o) => o.kind).sort(), [
      "ClusterRole", "ClusterRoleBinding", "Deployment", "IngressClass", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "Service", "ServiceAccount",
    ]);
  });

  void test("the ClusterRole grants exactly what turnout calls: read-only Secrets, no wildcard", () => {
    const role = one(rendered.defaults, "ClusterRole", roleSchema);
    assert.deepEqual(grants(role.rules), ALL_GRANTS);
    assert.deepEqual(grants(role.rules).filter((g) => g.startsWith("core secrets")), ["core secrets list", "core secrets watch"]);
    const binding = one(rendered.defaults, "ClusterRoleBinding", bindingSchema);
    const { workload } = controller(rendered.defaults);
    assert.deepEqual(binding.roleRef, { kind: "ClusterRole", name: role.metadata.name });
    assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: workload.spec.template.spec.serviceAccountName, namespace: RELEASE_NAMESPACE }]);
    one(rendered.defaults, "ServiceAccount", objectSchema, workload.spec.template.spec.serviceAccountName);
  });

  void test("the Lease Role allows get/create/update of leases only, get/update on the elected Lease by name", () => {
    for (const objects of [rendered.defaults, rendered.allFeatures]) {
      const role = one(objects, "Role", roleSchema);
      assert.equal(role.metadata.namespace, RELEASE_NAMESPACE);
      assert.deepEqual(grants(role.rules), ["coordination.k8s.io leases create", "coordination.k8s.io leases get", "coordination.k8s.io leases update"]);
      const electionId = flag(controller(objects).container.args, "election-id");
      for (const rule of role.rules.filter((r) => r.verbs.includes("get") || r.verbs.includes("update"))) {
        assert.deepEqual(rule.resourceNames, [electionId]);
      }
      const binding = one(objects, "RoleBinding", bindingSchema);
      assert.deepEqual(binding.roleRef, { kind: "Role", name: role.metadata.name });
    }
  });

  void test("rbac.scope=namespace reads only IngressClasses cluster-wide and grants the rest in the watched namespace", () => {
    const objects = rendered.namespacedRbac;
    assert.deepEqual(grants(one(objects, "ClusterRole", roleSchema).rules), CLASS_GRANTS);
    const watchRole = one(objects, "Role", roleSchema, "turnout-watch");
    assert.equal(watchRole.metadata.namespace, "apps");
    assert.deepEqual(grants(watchRole.rules), WATCH_GRANTS);
    assert.equal(flag(controller(objects).container.args, "watch-namespace"), "apps");
  });

  void test("the container runs locked down: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp", () => {
    for (const objects of [rendered.defaults, rendered.daemonSet]) {
      const { workload, container } = controller(objects);
      const sc = container.securityContext;
      assert.equal(sc.runAsNonRoot, true);
      assert.ok((sc.runAsUser ?? 0) > 0, "runAsUser must be a non-root uid");
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.deepEqual(sc.capabilities?.drop, ["ALL"]);
      assert.deepEqual(sc.capabilities.add, []);
      assert.equal(sc.seccompProfile?.type, "RuntimeDefault");
      assert.equal(workload.spec.template.spec.securityContext.runAsNonRoot, true);
    }
  });

  void test("probes hit /healthz and /readyz on the admin port", () => {
    for (const objects of [rendered.defaults, rendered.allFeatures, rendered.daemonSet]) {
      const { container } = controller(objects);
      const adminPort = Number(flag(container.args, "admin-port"));
      assert.equal(container.livenessProbe.httpGet.path, "/healthz");
      assert.equal(container.readinessProbe.httpGet.path, "/readyz");
      assert.equal(containerPort(container, container.livenessProbe.httpGet.port), adminPort);
      assert.equal(containerPort(container, container.readinessProbe.httpGet.port), adminPort);
    }
  });

  void test("turnout's own flag parser accepts the rendered args, and the pod lives long enough to drain", () => {
    for (const [variant, objects] of Object.entries(rendered)) {
      const { workload, container } = controller(objects);
      const env: Record<string, string> = { KUBERNETES_SERVICE_HOST: "10.96.0.1" };
      for (const e of container.env) if (e.value !== undefined) env[e.name] = e.value;
      const parsed = parseConfig(container.args, env);
      if (parsed.ok !== true) assert.fail(`${variant}: turnout rejects ${container.args.join(" ")}: ${JSON.stringify(parsed)}`);
      const { config } = parsed;
      assert.equal(config.mode, "cluster", variant);
      assert.equal(containerPort(container, "http"), config.httpPort, variant);
      assert.equal(containerPort(container, "https"), config.httpsPort, variant);
      assert.equal(containerPort(container, "admin"), config.adminPort, variant);
      const graceMs = workload.spec.template.spec.terminationGracePeriodSeconds * 1000;
      assert.ok(graceMs >= config.shutdownDelayMs + config.shutdownGraceMs + 5000, `${variant}: ${graceMs} ms is too short to drain`);
      for (const name of ["POD_NAME", "POD_NAMESPACE"]) assert.ok(container.env.some((e) => e.name === name), `${variant}: ${name}`);
    }
  });

  void test("the IngressClass names turnout's controller and matches --ingress-class", () => {
    for (const [objects, isDefault] of [[rendered.defaults, "false"], [rendered.allFeatures, "true"]] as const) {
      const ingressClass = one(objects, "IngressClass", z.object({ metadata: metadataSchema, spec: z.object({ controller: z.string() }) }));
      assert.equal(ingressClass.spec.controller, CONTROLLER_NAME);
      assert.equal(ingressClass.metadata.name, flag(controller(objects).container.args, "ingress-class"));
      assert.equal(ingressClass.metadata.annotations["ingressclass.kubernetes.io/is-default-class"], isDefault);
      assert.equal(flag(controller(objects).container.args, "controller-class"), CONTROLLER_NAME);
    }
  });

  void test("a second install gets its own controller value: on its IngressClass and as --controller-class", async () => {
    const objects = await render("--set", "ingressClass.name=internal", "--set", "ingressClass.controllerValue=internal.example.com/turnout");
    const ingressClass = one(objects, "IngressClass", z.object({ metadata: metadataSchema, spec: z.object({ controller: z.string() }) }));
    assert.equal(ingressClass.spec.controller, "internal.example.com/turnout");
    assert.equal(flag(controller(objects).container.args, "controller-class"), "internal.example.com/turnout");
    assert.notEqual((await helmTemplate(["--set", "ingressClass.controllerValue=no-domain"])).code, 0, "the schema refuses a value without a domain prefix");
  });

  void test("--publish-service names the LoadBalancer Service that routes 80/443 to the pods' HTTP/HTTPS listeners", () => {
    const objects = rendered.defaults;
    const { workload, container } = controller(objects);
    const traffic = ofKind(objects, "Service").map((s) => serviceSchema.parse(s)).filter((s) => s.spec.type === "LoadBalancer");
    assert.equal(traffic.length, 1);
    const service = traffic[0];
    assert.ok(service);
    assert.equal(flag(container.args, "publish-service"), `${RELEASE_NAMESPACE}/${service.metadata.name}`);
    for (const [key, value] of Object.entries(service.spec.selector)) assert.equal(workload.spec.template.metadata.labels[key], value);
    const target = (port: number) => service.spec.ports.find((p) => p.port === port)?.targetPort ?? -1;
    assert.equal(containerPort(container, target(80)), Number(flag(container.args, "http-port")));
    assert.equal(containerPort(container, target(443)), Number(flag(container.args, "https-port")));
  });

  void test("HTTPS redirects name the port clients reach HTTPS on: the Service's, a fixed node port for NodePort, none when unknown", async () => {
    const redirectPort = async (...set: string[]): Promise<string | undefined> =>
      flag(controller(await render(...set.flatMap((s) => ["--set", s]))).container.args, "https-redirect-port");
    assert.equal(flag(controller(rendered.defaults).container.args, "https-redirect-port"), "443");
    assert.equal(await redirectPort("service.ports.https=8443"), "8443");
    assert.equal(await redirectPort("service.type=NodePort", "service.nodePorts.https=30443"), "30443");
    assert.equal(await redirectPort("service.type=NodePort"), undefined);
    assert.equal(await redirectPort("service.enabled=false"), undefined);
  });

  void test("the metrics Service exposes the admin port as port \"metrics\"", () => {
    const { container } = controller(rendered.defaults);
    const metrics = one(rendered.defaults, "Service", serviceSchema, "turnout-metrics");
    assert.equal(metrics.spec.type, "ClusterIP");
    const port = metrics.spec.ports.find((p) => p.name === "metrics");
    assert.ok(port);
    assert.equal(containerPort(container, port.targetPort), Number(flag(container.args, "admin-port")));
  });

  void test("kind: DaemonSet renders a DaemonSet and no Deployment, autoscaler or disruption budget", () => {
    const kinds = rendered.daemonSet.map((o) => o.kind);
    assert.ok(kinds.includes("DaemonSet"));
    for (const absent of ["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"]) assert.ok(!kinds.includes(absent), absent);
    assert.equal(controller(rendered.daemonSet).workload.spec.replicas, undefined);
  });

  void test("the PodDisruptionBudget appears only with more than one replica and covers the controller pods", () => {
    assert.equal(ofKind(rendered.singleReplica, "PodDisruptionBudget").length, 0);
    const pdb = one(rendered.defaults, "PodDisruptionBudget", z.object({ spec: z.object({ minAvailable: z.number(), selector: z.object({ matchLabels: stringMap }) }) }));
    assert.equal(pdb.spec.minAvailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, controller(rendered.defaults).workload.spec.selector.matchLabels);
  });

  void test("the autoscaler drives the Deployment, which then leaves replicas unset", () => {
    assert.equal(ofKind(rendered.defaults, "HorizontalPodAutoscaler").length, 0);
    const hpa = one(rendered.allFeatures, "HorizontalPodAutoscaler", z.object({ apiVersion: z.literal("autoscaling/v2"), spec: z.object({ scaleTargetRef: z.object({ kind: z.string(), name: z.string() }) }) }));
    const { workload } = controller(rendered.allFeatures);
    assert.deepEqual(hpa.spec.scaleTargetRef, { kind: "Deployment", name: workload.metadata.name });
    assert.equal(workload.spec.replicas, undefined);
  });

  void test("the ServiceMonitor exists only when enabled and scrapes the metrics Service, not the traffic one", () => {
    assert.equal(ofKind(rendered.defaults, "ServiceMonitor").length, 0);
    const monitor = one(rendered.allFeatures, "ServiceMonitor", serviceMonitorSchema);
    assert.deepEqual(monitor.spec.namespaceSelector.matchNames, [RELEASE_NAMESPACE]);
    const selected = ofKind(rendered.allFeatures, "Service").filter((s) =>
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels[k] === v),
    );
    assert.deepEqual(selected.map((s) => s.metadata.name), ["turnout-metrics"]);
    const ports = serviceSchema.parse(selected[0]).spec.ports.map((p) => p.name);
    for (const endpoint of monitor.spec.endpoints) assert.ok(ports.includes(endpoint.port), endpoint.port);
  });

  void test("scrape annotations point Prometheus at the admin port only when enabled", () => {
    assert.equal(controller(rendered.defaults).workload.spec.template.metadata.annotations["prometheus.io/scrape"], undefined);
    const { workload, container } = controller(rendered.allFeatures);
    const annotations = workload.spec.template.metadata.annotations;
    assert.equal(annotations["prometheus.io/scrape"], "true");
    assert.equal(Number(annotations["prometheus.io/port"]), containerPort(container, "admin"));
    assert.equal(annotations["prometheus.io/path"], "/metrics");
  });

  void test("the dashboard ConfigMap carries dashboards/turnout.json for the Grafana sidecar", async () => {
    const configMap = one(rendered.allFeatures, "ConfigMap", z.object({ metadata: metadataSchema, data: stringMap }));
    const file = await readFile(join(REPO_ROOT, CHART, "dashboards", "turnout.json"), "utf8");
    assert.deepEqual(JSON.parse(configMap.data["turnout.json"] ?? ""), JSON.parse(file));
    assert.equal(configMap.metadata.labels.grafana_dashboard, "1");
  });
});

void describe("chart files", () => {
  void test("the dashboard queries only turnout metrics that exist, and covers each of them", async () => {
    const dashboard = z
      .object({ panels: z.array(z.object({ targets: z.array(z.object({ expr: z.string() })).default([]) })) })
      .parse(JSON.parse(await readFile(join(REPO_ROOT, CHART, "dashboards", "turnout.json"), "utf8")));
    const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\bturnout_[a-z_]+/g)].map((m) => m[0]))));
    const known = new Set(TURNOUT_METRICS.flatMap((m) => [m, `${m}_bucket`, `${m}_sum`, `${m}_count`]));
    for (const name of used) assert.ok(known.has(name), `dashboard uses unknown metric ${name}`);
    for (const metric of TURNOUT_METRICS) assert.ok([...used].some((u) => u.startsWith(metric)), `dashboard never shows ${metric}`);
  });

  void test("every key in values.yaml has a comment directly above it", async () => {
    const lines = (await readFile(join(REPO_ROOT, CHART, "values.yaml"), "utf8")).split("\n");
    const undocumented = lines
      .map((line, i) => ({ line, i }))
      .filter(({ line, i }) => /^\s*[A-Za-z_][\w./-]*:/.test(line) && !/^\s*#/.test(lines[i - 1] ?? ""))
      .map(({ line, i }) => `${i + 1}: ${line.trim()}`);
    assert.deepEqual(undocumented, []);
  });

  void test("Chart appVersion (the default image tag) is the package version", async () => {
    const chart = z.object({ appVersion: z.string() }).parse(loadYaml(await readFile(join(REPO_ROOT, CHART, "Chart.yaml"), "utf8")));
    const pkg = z.object({ version: z.string() }).parse(JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")));
    assert.equal(chart.appVersion, pkg.version);
    assert.ok(controller(rendered.defaults).container.image.endsWith(`:${pkg.version}`));
  });

  void test("manifests/turnout.yaml is the chart rendered with default values", async () => {
    const [expected, actual] = await Promise.all([renderDefaultManifests(), readFile(MANIFEST_PATH, "utf8").catch(() => "")]);
    assert.ok(actual === expected, `manifests/turnout.yaml is out of date; regenerate it with: ${REGENERATE_COMMAND}`);
    const kinds = (loadAllYaml(actual) as unknown[]).map((d) => objectSchema.parse(d).kind);
    assert.equal(kinds[0], "Namespace");
  });
});

void describe("Dockerfile", async () => {
  const pkg = z
    .object({ bin: z.record(z.string(), z.string()), engines: z.object({ node: z.string() }), dependencies: stringMap })
    .parse(JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")));
  const stages = parseDockerfile(await readFile(join(REPO_ROOT, "Dockerfile"), "utf8"));
  const build = stages[0];
  const runtime = stages.at(-1);
  const nodeMajor = /(\d+)/.exec(pkg.engines.node)?.[1] ?? "";

  void test("builds in a Node stage and runs in a distroless stage of the same Node major, with no RUN there", () => {
    assert.ok(build && runtime && stages.length >= 2, "multi-stage build expected");
    assert.match(build.image, new RegExp(`^node:${nodeMajor}-`));
    assert.match(runtime.image, new RegExp(`^gcr\\.io/distroless/nodejs${nodeMajor}-`));
    assert.deepEqual(instructions(runtime, "RUN"), [], "distroless has no shell for RUN");
  });

  void test("installs production dependencies only, from the lockfile", () => {
    assert.ok(build);
    const runs = instructions(build, "RUN").join("\n");
    assert.match(runs, /npm ci\b[^\n]*--omit=dev/);
    assert.doesNotMatch(runs, /npm (install|i)\b/);
  });

  void test("runs as a numeric non-root user, the uid the chart's securityContext expects", () => {
    assert.ok(runtime);
    const user = instructions(runtime, "USER").at(-1) ?? "";
    const uid = Number(user.split(":")[0]);
    assert.ok(Number.isInteger(uid) && uid > 0, `USER ${user} must be a numeric non-root uid (kubelet verifies runAsNonRoot by number)`);
    assert.equal(controller(rendered.defaults).container.securityContext.runAsUser, uid);
  });

  void test("the entrypoint runs package.json's bin, and EXPOSE lists the chart's container ports", () => {
    assert.ok(runtime);
    const entrypoint = z.array(z.string()).parse(JSON.parse(instructions(runtime, "ENTRYPOINT").at(-1) ?? "null"));
    assert.equal(entrypoint[1], pkg.bin.turnout);
    const ports = instructions(runtime, "EXPOSE").flatMap((e) => e.split(/\s+/)).map(Number).sort();
    assert.deepEqual(ports, controller(rendered.defaults).container.ports.map((p) => p.containerPort).sort());
  });

  void test("every module the entry script loads at runtime is in the build context, copied into the image, and a production dependency", async () => {
    assert.ok(build && runtime);
    const entry = pkg.bin.turnout ?? "";
    const graph = runtimeModuleGraph(REPO_ROOT, entry);
    assert.ok(graph.files.includes(entry), `${entry} does not exist`);
    const ignored = dockerIgnores(await readFile(join(REPO_ROOT, ".dockerignore"), "utf8"));
    const topLevel = (path: string) => path.replace(/^\.\//, "").replace(/\/$/, "").split("/")[0] ?? "";
    const inBuild = new Set(copies(build).filter((c) => c.from === undefined).flatMap((c) => c.sources.map(topLevel)));
    const buildDir = workdir(build);
    const inRuntime = new Set(
      copies(runtime).filter((c) => c.from === build.alias).flatMap((c) => c.sources.map((s) => topLevel(s.replace(`${buildDir}/`, "")))),
    );
    for (const required of ["package.json", "node_modules"]) assert.ok(inRuntime.has(required), `${required} is not copied into the image`);
    for (const file of graph.files) {
      assert.ok(!ignored(file), `${file} is excluded by .dockerignore`);
      assert.ok(inBuild.has(topLevel(file)) && inRuntime.has(topLevel(file)), `${file} is not copied into the image`);
    }
    for (const specifier of graph.packages) {
      const name = packageName(specifier);
      if (name !== undefined) assert.ok(name in pkg.dependencies, `${specifier} is imported at runtime but is not a production dependency`);
    }
  });
});
