// Golden fixtures: testdata/<case>/input.yaml (real manifests, multi-document) and an
// optional settings.json go in; describeRouteTable, diagnostics and accepted must equal
// testdata/<case>/expected.json. To regenerate on purpose after a deliberate change:
//   UPDATE_GOLDEN=1 node --test src/translate/golden.test.ts   (then review the diff)
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import { loadAllYaml } from "@kubernetes/client-node";
import { describeRouteTable } from "../routing/index.ts";
import type { ClusterObject, Ingress, IngressClass, Secret, Service, Snapshot, TranslateSettings } from "../store/index.ts";
import { parseClusterObject } from "../store/index.ts";
import { buildRouteTable } from "./build-route-table.ts";
import { SETTINGS } from "./test-objects.ts";

const TESTDATA = new URL("./testdata/", import.meta.url);

function loadObjects(file: URL): ClusterObject[] {
  const documents: unknown[] = loadAllYaml(readFileSync(file, "utf8"));
  const objects: ClusterObject[] = [];
  documents.forEach((document, index) => {
    if (document === null || document === undefined) return;
    const parsed = parseClusterObject(document);
    if (parsed.ok === true) objects.push(parsed.object);
    else if (parsed.ok === false) throw new Error(`${file.pathname} document ${index + 1}: ${parsed.message}`);
    else throw new Error(`${file.pathname} document ${index + 1}: ${parsed.apiVersion}/${parsed.kind} is not used by translation`);
  });
  return objects;
}

function loadSnapshot(caseDir: URL): Snapshot {
  const objects = loadObjects(new URL("input.yaml", caseDir));
  const settingsFile = new URL("settings.json", caseDir);
  const settings: TranslateSettings = existsSync(settingsFile)
    ? { ...SETTINGS, ...(JSON.parse(readFileSync(settingsFile, "utf8")) as Partial<TranslateSettings>) }
    : SETTINGS;
  return {
    ingresses: objects.filter((o): o is Ingress => o.kind === "Ingress"),
    ingressClasses: objects.filter((o): o is IngressClass => o.kind === "IngressClass"),
    services: objects.filter((o): o is Service => o.kind === "Service"),
    secrets: objects.filter((o): o is Secret => o.kind === "Secret"),
    lastAccepted: new Map(),
    settings,
  };
}

const cases = readdirSync(TESTDATA, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

void describe("golden translation fixtures", () => {
  void it("has cases", () => {
    assert.ok(cases.length >= 3, `expected golden cases under ${TESTDATA.pathname}`);
  });

  for (const name of cases) {
    void it(name, () => {
      const caseDir = new URL(`${name}/`, TESTDATA);
      const result = buildRouteTable(loadSnapshot(caseDir));
      const actual: unknown = JSON.parse(
        JSON.stringify({ table: describeRouteTable(result.table), diagnostics: result.diagnostics, accepted: result.accepted }),
      );
      const expectedFile = new URL("expected.json", caseDir);
      if (process.env["UPDATE_GOLDEN"] === "1") {
        writeFileSync(expectedFile, `${JSON.stringify(actual, null, 2)}\n`);
        return;
      }
      assert.ok(existsSync(expectedFile), `${expectedFile.pathname} is missing: run with UPDATE_GOLDEN=1 and review it`);
      assert.deepEqual(actual, JSON.parse(readFileSync(expectedFile, "utf8")));
    });
  }
});
