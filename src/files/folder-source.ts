// File mode: the Kubernetes YAML in a folder is the cluster. Loads every
// *.yaml/*.yml/*.json file, feeds the ClusterStore like the informers do, and
// re-reads files as they change. A file that fails to parse keeps its last good
// objects, so a half-saved edit never drops working routes.
import { createHash } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
// js-yaml is the parser client-node's loadAllYaml wraps; used directly, file mode
// never loads the Kubernetes client (its typed models cost ~90 MB of resident memory).
import { loadAll } from "js-yaml";
import type { ClusterObject } from "../store/objects.ts";
import { objectKey } from "../store/objects.ts";
import { parseClusterObject } from "../store/schemas.ts";
import type { ClusterStore } from "../store/cluster-store.ts";
import type { Logger } from "../observability/logger.ts";

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

export interface FolderSourceOptions {
  folder: string;
  store: ClusterStore;
  logger: Logger;
  /** Coalesces bursts of file events (editors write several times per save). */
  settleMs?: number;
}

/** Identity of an object across files: kind + namespace/name (one flat string: thousands are kept). */
function identity(object: ClusterObject): string {
  return [object.kind, objectKey(object.meta)].join(":");
}

export class FolderSource {
  readonly #options: FolderSourceOptions;
  /** file (relative) -> objects it contributed, by identity */
  readonly #byFile = new Map<string, Map<string, ClusterObject>>();
  /** file (relative) -> hash of the text its current objects came from */
  readonly #loadedText = new Map<string, string>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #rescanning: Promise<void> = Promise.resolve();
  #pendingRescan = false;

  constructor(options: FolderSourceOptions) {
    this.#options = options;
  }

  /** Loads the folder once; resolves when the store holds its whole content (the sync barrier). */
  async start(): Promise<void> {
    await this.#rescan();
    this.#watcher = watch(this.#options.folder, { recursive: true }, () => this.#schedule());
    this.#watcher.on("error", (error) => this.#options.logger.error("manifest folder watch failed", { folder: this.#options.folder, error }));
  }

  stop(): void {
    this.#watcher?.close();
    if (this.#timer) clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // One rescan at a time; a change during a rescan triggers one more.
      if (this.#pendingRescan) return;
      this.#pendingRescan = true;
      this.#rescanning = this.#rescanning.then(async () => {
        this.#pendingRescan = false;
        await this.#rescan();
      });
    }, this.#options.settleMs ?? 50);
  }

  async #rescan(): Promise<void> {
    const files = await listManifestFiles(this.#options.folder);
    const seen = new Set<string>();
    for (const file of files) {
      const name = relative(this.#options.folder, file);
      seen.add(name);
      const loaded = await this.#loadFile(file, name);
      if (loaded !== undefined && loaded !== "unchanged") this.#replaceFile(name, loaded.objects, loaded.textHash);
    }
    // Every loaded file has a text hash, also those that hold no objects.
    for (const name of [...this.#loadedText.keys()]) if (!seen.has(name)) this.#replaceFile(name, new Map(), undefined);
  }

  /**
   * Parses one file; "unchanged" when its text is the one its current objects came
   * from (one edit in a folder of thousands of objects re-parses one file, not all);
   * undefined when it is unreadable or any document is invalid (previous content stays).
   */
  async #loadFile(path: string, name: string): Promise<{ objects: Map<string, ClusterObject>; textHash: string } | "unchanged" | undefined> {
    const { logger } = this.#options;
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      logger.error("cannot read manifest file; keeping its previous objects", { file: name, error });
      return undefined;
    }
    const textHash = createHash("sha256").update(text).digest("base64");
    if (this.#loadedText.get(name) === textHash) return "unchanged";
    let documents: unknown[];
    try {
      documents = loadAll(text).filter((d: unknown) => d !== null && d !== undefined);
    } catch (error) {
      logger.error("manifest file is not valid YAML; keeping its previous objects", { file: name, error });
      return undefined;
    }
    const objects = new Map<string, ClusterObject>();
    for (const [index, document] of documents.entries()) {
      const parsed = parseClusterObject(document);
      if (parsed.ok === "ignored") {
        logger.debug("ignoring object of a kind turnout does not read", { file: name, document: index, kind: `${parsed.apiVersion}/${parsed.kind}` });
        continue;
      }
      if (!parsed.ok) {
        logger.error("invalid object in manifest file; keeping the file's previous objects", { file: name, document: index, reason: parsed.message });
        return undefined;
      }
      objects.set(identity(parsed.object), withFileVersion(parsed.object, document));
    }
    return { objects, textHash };
  }

  #replaceFile(name: string, next: Map<string, ClusterObject>, textHash: string | undefined): void {
    const { store } = this.#options;
    const previous = this.#byFile.get(name) ?? new Map<string, ClusterObject>();
    for (const [id, object] of previous) {
      if (!next.has(id)) store.delete(object.kind, object.meta.namespace, object.meta.name);
    }
    for (const object of next.values()) store.upsert(object);
    if (next.size === 0) this.#byFile.delete(name);
    else this.#byFile.set(name, next);
    if (textHash === undefined) this.#loadedText.delete(name);
    else this.#loadedText.set(name, textHash);
  }
}

/** Files carry no resourceVersion: a content hash stands in, so unchanged objects are not re-announced. */
function withFileVersion<T extends ClusterObject>(object: T, document: unknown): T {
  if (object.meta.resourceVersion !== "") return object;
  const hash = createHash("sha256").update(JSON.stringify(document)).digest();
  // join builds one flat string; a template literal would keep a chain of pieces per object.
  const resourceVersion = ["file", hash.toString("hex", 0, 8)].join("-");
  return { ...object, meta: { ...object.meta, resourceVersion } };
}

async function listManifestFiles(folder: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  for (const entry of entries) {
    if (!entry.isFile() || !MANIFEST_FILE.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    // Editors' temporary files vanish between readdir and read; skip what is gone.
    if (await stat(path).then(() => true, () => false)) out.push(path);
  }
  return out.sort();
}
