// A TranslationCache carried across builds must never change the result: after
// every random edit (Ingresses, Services, IngressClasses, settings, input order),
// the cached build equals a fresh one. It must also reuse:
// an edit of one Ingress leaves the routes of hosts it does not touch as they were.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeRouteTable, routeTableFingerprint } from "../routing/index.ts";
import type { TranslationResult } from "../routing/index.ts";
import { seededRandom } from "../balancer/seeded-random.ts";
import type { Ingress, IngressClass, Service, TranslateSettings } from "../store/index.ts";
import { buildRouteTable } from "./build-route-table.ts";
import { at, backend, ingress, ingressClass, path, rule, service, snapshot } from "./test-objects.ts";
import { TranslationCache } from "./translation-cache.ts";

const HOSTS = ["a.example.com", "b.example.com", "c.example.com", "*.w.example.com", undefined, "Bad_Host"];
const PATHS: [string, string][] = [["/", "Prefix"], ["/api", "Prefix"], ["/api", "Exact"], ["/x/", "ImplementationSpecific"], ["", "Prefix"]];
const SERVICES = ["s1", "s2", "s3", "s4"];
const ANNOTATIONS: Record<string, string>[] = [
  {},
  {},
  { "turnout.dev/weight": "30" },
  { "turnout.dev/weight": "80" },
  { "turnout.dev/match-headers": "x-canary=yes" },
  { "turnout.dev/load-balance": "ewma" },
  { "turnout.dev/weight": "not a number" },
  { "turnout.dev/wieght": "5" },
];

type Random = () => number;
const pick = <T,>(items: readonly T[], random: Random): T => items[Math.floor(random() * items.length)] as T;

function randomIngress(name: string, random: Random, resourceVersion: number): Ingress {
  const rules = Array.from({ length: 1 + Math.floor(random() * 2) }, () =>
    rule(
      pick(HOSTS, random),
      ...Array.from({ length: Math.floor(random() * 3) }, () => {
        const [pathText, pathType] = pick(PATHS, random);
        return path(pathText, pathType, backend(pick(SERVICES, random), random() < 0.8 ? 80 : "http"));
      }),
    ),
  );
  const tlsHost = pick(HOSTS, random);
  return ingress(name, rules, {
    created: at(Math.floor(random() * 5)),
    annotations: pick(ANNOTATIONS, random),
    resourceVersion: String(resourceVersion),
    className: random() < 0.9 ? "turnout" : "other",
    ...(random() < 0.3 ? { defaultBackend: backend(pick(SERVICES, random), 80) } : {}),
    ...(random() < 0.4 && tlsHost ? { tls: [{ hosts: [tlsHost], secretName: pick(["t1", "t2"], random) }] } : {}),
  });
}

function randomService(name: string, random: Random): Service {
  return service(name, random() < 0.5 ? [80] : [["http", 80], 8080]);
}

function comparable(result: TranslationResult): string {
  return JSON.stringify({ table: describeRouteTable(result.table), diagnostics: result.diagnostics, accepted: result.accepted });
}

void describe("incremental translation", () => {
  for (const seed of [11, 12, 13]) {
    void it(`after each of 500 random edits (seed ${seed}), the cached build equals a fresh build`, () => {
      const random = seededRandom(seed);
      const cache = new TranslationCache();
      const ingresses = new Map<string, Ingress>();
      const services = new Map<string, Service>();
      const lastAccepted = new Map<string, Ingress>();
      let classes: IngressClass[] = [ingressClass("turnout")];
      let settings: Partial<TranslateSettings> = {};
      let version = 1;
      for (const name of SERVICES) services.set(name, randomService(name, random));
      for (let i = 0; i < 8; i++) ingresses.set(`i${i}`, randomIngress(`i${i}`, random, version++));

      for (let step = 0; step < 500; step++) {
        const roll = random();
        const name = `i${Math.floor(random() * 12)}`;
        if (roll < 0.55) ingresses.set(name, randomIngress(name, random, version++));
        else if (roll < 0.7) ingresses.delete(name);
        else if (roll < 0.85) {
          const serviceName = pick(SERVICES, random);
          if (random() < 0.3) services.delete(serviceName);
          else services.set(serviceName, randomService(serviceName, random));
        } else if (roll < 0.9) {
          classes = random() < 0.5 ? [ingressClass("turnout")] : [ingressClass("turnout"), ingressClass("other")];
        } else if (roll < 0.93) {
          settings = random() < 0.5 ? {} : { watchIngressWithoutClass: true, defaultBackendService: { namespace: "default", name: "s1", port: 80 } };
        } else if (roll < 0.97) {
          // Only the last accepted versions change (buildRouteTable is a function of its whole input).
          const key = `default/${name}`;
          if (random() < 0.5) lastAccepted.delete(key);
          else lastAccepted.set(key, randomIngress(name, random, version++));
        }
        // The store keeps its order (replaced objects in place, new ones last); now and then
        // the lists come in another order, which must not change the result either.
        const order = <T,>(items: T[]): T[] => (random() < 0.05 ? [...items].reverse() : items);
        const s = {
          ...snapshot({ ingresses: order([...ingresses.values()]), services: order([...services.values()]), ingressClasses: classes, settings }),
          lastAccepted: new Map(lastAccepted),
        };
        const cached = buildRouteTable(s, cache);
        const fresh = buildRouteTable(s);
        assert.deepStrictEqual(cached, fresh, `step ${step}`);
        assert.equal(comparable(cached), comparable(fresh), `step ${step}`);
        assert.equal(routeTableFingerprint(cached.table), routeTableFingerprint(fresh.table), `step ${step}`);
        for (const key of cached.accepted) {
          const current = ingresses.get(key.split("/")[1] ?? "");
          if (current) lastAccepted.set(key, current);
        }
      }
    });
  }

  void it("an edit of one Ingress rebuilds its host only; a Service edit rebuilds the hosts that use it", () => {
    const cache = new TranslationCache();
    const services = [service("s1"), service("s2")];
    const a = ingress("a", [rule("a.example.com", path("/", "Prefix", backend("s1", 80)))], { created: at(1) });
    const b = ingress("b", [rule("b.example.com", path("/", "Prefix", backend("s2", 80)))], { created: at(2) });
    const first = buildRouteTable(snapshot({ ingresses: [a, b], services }), cache).table;

    const editedB = ingress("b", [rule("b.example.com", path("/v2", "Prefix", backend("s2", 80)))], { created: at(2), resourceVersion: "2" });
    const second = buildRouteTable(snapshot({ ingresses: [a, editedB], services }), cache).table;
    assert.equal(second.exactHosts.get("a.example.com"), first.exactHosts.get("a.example.com"), "host a is reused");
    assert.deepEqual([...(second.exactHosts.get("b.example.com")?.prefix.keys() ?? [])], ["/v2"]);

    const s2WithNewPort = [services[0] as Service, service("s2", [["http", 80]])];
    const third = buildRouteTable(snapshot({ ingresses: [a, editedB], services: s2WithNewPort }), cache).table;
    assert.equal(third.exactHosts.get("a.example.com"), first.exactHosts.get("a.example.com"), "host a does not use s2");
    assert.notEqual(third.exactHosts.get("b.example.com"), second.exactHosts.get("b.example.com"));
    assert.equal(third.exactHosts.get("b.example.com")?.prefix.get("/v2")?.weighted[0]?.backend.portName, "http");
  });
});
