// Which Ingresses turnout serves: the four ownership paths and their negatives.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildRouteTable } from "./build-route-table.ts";
import type { IngressOptions } from "./test-objects.ts";
import { ingressClass, routeOf, service, simpleIngress, snapshot } from "./test-objects.ts";
import type { IngressClass, TranslateSettings } from "../store/index.ts";

interface Case {
  name: string;
  options: IngressOptions;
  classes?: IngressClass[];
  settings?: Partial<TranslateSettings>;
  ours: boolean;
}

const legacy = (value: string): Record<string, string> => ({ "kubernetes.io/ingress.class": value });

const cases: Case[] = [
  { name: "ingressClassName names our IngressClass", options: { className: "turnout" }, ours: true },
  {
    name: "ingressClassName names a second IngressClass of ours",
    options: { className: "edge" },
    classes: [ingressClass("turnout"), ingressClass("edge")],
    ours: true,
  },
  {
    name: "ingressClassName names another controller's class",
    options: { className: "nginx" },
    classes: [ingressClass("turnout"), ingressClass("nginx", "k8s.io/ingress-nginx")],
    ours: false,
  },
  { name: "ingressClassName names a class that does not exist", options: { className: "ghost" }, ours: false },
  {
    name: "ingressClassName wins over a matching legacy annotation",
    options: { className: "nginx", annotations: legacy("turnout") },
    classes: [ingressClass("turnout"), ingressClass("nginx", "k8s.io/ingress-nginx")],
    ours: false,
  },
  { name: "legacy annotation equals --ingress-class", options: { className: null, annotations: legacy("turnout") }, ours: true },
  {
    name: "legacy annotation equals a custom --ingress-class",
    options: { className: null, annotations: legacy("internal") },
    settings: { ingressClass: "internal" },
    ours: true,
  },
  {
    name: "legacy annotation names another class, even with a default class and watch-without-class",
    options: { className: null, annotations: legacy("nginx") },
    classes: [ingressClass("turnout", undefined, true)],
    settings: { watchIngressWithoutClass: true },
    ours: false,
  },
  {
    name: "no class, one of our IngressClasses is the default",
    options: { className: null },
    classes: [ingressClass("turnout", undefined, true)],
    ours: true,
  },
  {
    name: "no class, the default IngressClass belongs to another controller",
    options: { className: null },
    classes: [ingressClass("turnout"), ingressClass("nginx", "k8s.io/ingress-nginx", true)],
    ours: false,
  },
  { name: "no class, --watch-ingress-without-class", options: { className: null }, settings: { watchIngressWithoutClass: true }, ours: true },
  { name: "no class, our class is not the default and no watch-without-class", options: { className: null }, ours: false },
  { name: "no class and no IngressClass at all", options: { className: null }, classes: [], ours: false },
];

void describe("IngressClass ownership", () => {
  for (const c of cases) {
    void it(`${c.name} -> ${c.ours ? "ours" : "not ours"}`, () => {
      const input = {
        ingresses: [simpleIngress("web", "a.example.com", "/", "web", c.options)],
        services: [service("web")],
        ...(c.classes ? { ingressClasses: c.classes } : {}),
        ...(c.settings ? { settings: c.settings } : {}),
      };
      const result = buildRouteTable(snapshot(input));
      assert.equal(routeOf(result, "a.example.com", "/"), c.ours ? "web:80" : "404");
      assert.deepEqual(result.accepted, c.ours ? ["default/web"] : []);
    });
  }

  void it("skips Ingresses that are not ours silently, however broken", () => {
    const broken = simpleIngress("broken", "bad host:80", "no-slash", "missing", { className: "nginx" });
    const result = buildRouteTable(snapshot({ ingresses: [broken] }));
    assert.deepEqual(result.diagnostics, []);
    assert.deepEqual(result.accepted, []);
  });
});
