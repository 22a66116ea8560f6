// FolderSource: the folder's objects reach the store; an edit changes exactly what
// it touched; a broken file keeps its last good objects, also after it is repaired.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterStore } from "../store/index.ts";
import type { StoreChange } from "../store/index.ts";
import { createLogger } from "../observability/logger.ts";
import { FolderSource } from "./folder-source.ts";

function service(name: string, port: number): string {
  return JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "shop" }, spec: { ports: [{ name: "http", port }] } });
}

/** A started source on a fresh folder, and a way to wait for the store changes the next file event brings. */
async function setup(files: Record<string, string>): Promise<{
  folder: string;
  store: ClusterStore;
  errors: Record<string, unknown>[];
  changesAfter: (edit: () => void, settled: (changes: StoreChange[]) => boolean) => Promise<StoreChange[]>;
  close: () => void;
}> {
  const folder = mkdtempSync(join(tmpdir(), "turnout-folder-source-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
  const store = new ClusterStore();
  const errors: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "error", write: (line) => errors.push(JSON.parse(line) as Record<string, unknown>) });
  const source = new FolderSource({ folder, store, logger, settleMs: 5 });
  await source.start();
  let pending: { changes: StoreChange[]; settled: (changes: StoreChange[]) => boolean; resolve: (changes: StoreChange[]) => void } | undefined;
  store.onChange((change) => {
    if (!pending) return;
    pending.changes.push(change);
    if (pending.settled(pending.changes)) pending.resolve(pending.changes);
  });
  return {
    folder,
    store,
    errors,
    changesAfter: (edit, settled) =>
      new Promise((resolve) => {
        pending = { changes: [], settled, resolve };
        edit();
      }),
    close: () => {
      source.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

void test("an edit re-announces only the objects it changed", async () => {
  const { folder, store, changesAfter, close } = await setup({
    "a.yaml": `${service("a1", 80)}\n---\n${service("a2", 80)}\n`,
    "b.yaml": `${service("b1", 80)}\n`,
  });
  try {
    assert.deepEqual(store.list("Service").map((s) => s.meta.name).sort(), ["a1", "a2", "b1"]);
    const changes = await changesAfter(
      () => writeFileSync(join(folder, "a.yaml"), `${service("a1", 80)}\n---\n${service("a2", 81)}\n`),
      (seen) => seen.length > 0,
    );
    assert.deepEqual(changes.map((c) => [c.type, c.object.meta.name]), [["upsert", "a2"]]);
    assert.equal(store.get("Service", "shop", "a2")?.ports[0]?.port, 81);
  } finally {
    close();
  }
});

void test("a broken file keeps its last good objects; repairing it to the same content changes nothing, a new edit applies", async () => {
  const good = `${service("a1", 80)}\n`;
  const { folder, store, errors, changesAfter, close } = await setup({ "a.yaml": good, "b.yaml": `${service("b1", 80)}\n` });
  try {
    const original = store.get("Service", "shop", "a1");
    // The broken save and its repair change nothing in the store; the edit to b.yaml after them shows the rescans ran.
    writeFileSync(join(folder, "a.yaml"), "kind: [unclosed\n");
    await changesAfter(() => writeFileSync(join(folder, "b.yaml"), `${service("b1", 81)}\n`), (seen) => seen.length > 0);
    assert.ok(errors.some((e) => e.msg === "manifest file is not valid YAML; keeping its previous objects" && e.file === "a.yaml"));
    assert.equal(store.get("Service", "shop", "a1"), original);

    writeFileSync(join(folder, "a.yaml"), good);
    await changesAfter(() => writeFileSync(join(folder, "b.yaml"), `${service("b1", 82)}\n`), (seen) => seen.some((c) => c.object.meta.name === "b1"));
    assert.equal(store.get("Service", "shop", "a1"), original);

    const changes = await changesAfter(() => writeFileSync(join(folder, "a.yaml"), `${service("a1", 90)}\n`), (seen) => seen.length > 0);
    assert.deepEqual(changes.map((c) => [c.type, c.object.meta.name]), [["upsert", "a1"]]);
    assert.equal(store.get("Service", "shop", "a1")?.ports[0]?.port, 90);
  } finally {
    close();
  }
});

void test("a deleted file removes its objects, also when it is created again with the same content", async () => {
  const text = `${service("a1", 80)}\n`;
  const { folder, changesAfter, close } = await setup({ "a.yaml": text });
  try {
    const removed = await changesAfter(() => rmSync(join(folder, "a.yaml")), (seen) => seen.length > 0);
    assert.deepEqual(removed.map((c) => [c.type, c.object.meta.name]), [["delete", "a1"]]);
    const added = await changesAfter(() => writeFileSync(join(folder, "a.yaml"), text), (seen) => seen.length > 0);
    assert.deepEqual(added.map((c) => [c.type, c.object.meta.name]), [["upsert", "a1"]]);
  } finally {
    close();
  }
});
