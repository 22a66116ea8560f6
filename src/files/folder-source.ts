// File mode: the Kubernetes YAML in a folder is the cluster. Loads every
// *.yaml/*.yml/*.json file (hidden ones aside), feeds the ClusterStore like the
// informers do, and re-reads files as they change. A file that fails to parse, or
// is emptied on its way to new content, keeps its last good objects; a folder that
// goes away keeps them all. So a half-saved edit never drops working routes.
import { createHash } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
// js-yaml is the parser client-node's loadAllYaml wraps; used directly, file mode
// never loads the Kubernetes client (its typed models cost ~90 MB of resident memory).
import { loadAll } from "js-yaml";
import type { ClusterObject, EndpointSlice } from "../store/objects.ts";
import { objectKey } from "../store/objects.ts";
import { parseClusterObject, readApiVersion } from "../store/schemas.ts";
import type { ClusterStore } from "../store/cluster-store.ts";
import type { Logger } from "../observability/logger.ts";

const MANIFEST_FILE = /\.(ya?ml|json)$/i;
/** While the folder cannot be read, it is looked at again this often. */
const FOLDER_RETRY_MS = 1000;

export interface FolderSourceOptions {
  folder: string;
  store: ClusterStore;
  logger: Logger;
  /** Coalesces bursts of file events (editors write several times per save). */
  settleMs?: number;
}

/** Identity of an object across files: kind + namespace/name (one flat string: thousands are kept). */
function identity(object: Pick<ClusterObject, "kind" | "meta">): string {
  return [object.kind, objectKey(object.meta)].join(":");
}

export class FolderSource {
  readonly #options: FolderSourceOptions;
  /** file (relative) -> objects it defines, by identity */
  readonly #byFile = new Map<string, Map<string, ClusterObject>>();
  /** file (relative) -> hash of the text its current objects came from */
  readonly #loadedText = new Map<string, string>();
  /** What the store holds from the folder, by identity: each from the first file (by name) defining it. */
  #applied = new Map<string, ClusterObject>();
  /** Objects defined in several files, already reported (identity and files). */
  #reportedDuplicates = new Set<string>();
  #watcher: FSWatcher | undefined;
  /** The folder's inode when the watch began: a folder replaced under its name needs a new watch. */
  #watchedInode: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #rescanning: Promise<void> = Promise.resolve();
  #pendingRescan = false;
  #folderFailing = false;
  #stopped = false;

  constructor(options: FolderSourceOptions) {
    this.#options = options;
  }

  /** Loads the folder once; resolves when the store holds its whole content (the sync barrier). */
  async start(): Promise<void> {
    // Watch first: a file saved while the first scan runs triggers one more.
    await this.#watch();
    await this.#rescan();
  }

  stop(): void {
    this.#stopped = true;
    this.#watcher?.close();
    if (this.#timer) clearTimeout(this.#timer);
  }

  async #watch(): Promise<void> {
    const { folder, logger } = this.#options;
    this.#watcher?.close();
    this.#watchedInode = (await stat(folder)).ino;
    this.#watcher = watch(folder, { recursive: true }, () => this.#schedule());
    this.#watcher.on("error", (error) => {
      logger.error("manifest folder watch failed; looking at the folder again", { folder, error });
      this.#schedule(FOLDER_RETRY_MS);
    });
  }

  #schedule(delayMs = this.#options.settleMs ?? 50): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // One rescan at a time; a change during a rescan triggers one more.
      if (this.#pendingRescan) return;
      this.#pendingRescan = true;
      this.#rescanning = this.#rescanning.then(async () => {
        this.#pendingRescan = false;
        await this.#rescanFollowingFolder();
      });
    }, delayMs);
  }

  /** A rescan after start: the folder may be gone (deleted, replaced by a checkout); its objects stay until it is back. */
  async #rescanFollowingFolder(): Promise<void> {
    const { folder, logger } = this.#options;
    try {
      if ((await stat(folder)).ino !== this.#watchedInode) await this.#watch();
      await this.#rescan();
      if (this.#folderFailing) logger.info("manifest folder readable again", { folder });
      this.#folderFailing = false;
    } catch (error) {
      if (!this.#folderFailing) logger.error("cannot read the manifest folder; serving what it held, and looking again every second", { folder, error });
      this.#folderFailing = true;
      this.#schedule(FOLDER_RETRY_MS);
    }
  }

  async #rescan(): Promise<void> {
    const files = await listManifestFiles(this.#options.folder);
    const seen = new Set<string>();
    let changed = false;
    for (const file of files) {
      const name = relative(this.#options.folder, file);
      seen.add(name);
      const loaded = await this.#loadFile(file, name);
      if (loaded === undefined || loaded === "unchanged") continue;
      this.#byFile.set(name, loaded.objects);
      this.#loadedText.set(name, loaded.textHash);
      changed = true;
    }
    // Every loaded file has a text hash, also those that hold no objects.
    for (const name of [...this.#loadedText.keys()]) {
      if (seen.has(name)) continue;
      this.#byFile.delete(name);
      this.#loadedText.delete(name);
      changed = true;
    }
    if (changed) this.#apply();
  }

  /**
   * Parses one file; "unchanged" when its text is the one its current objects came
   * from (one edit in a folder of thousands of objects re-parses one file, not all);
   * undefined when its previous objects stay: it is unreadable, any document is
   * invalid, or it is empty (a tool truncates a file before writing it).
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
    if (text === "" && (this.#byFile.get(name)?.size ?? 0) > 0) {
      logger.info("manifest file is empty; keeping its previous objects until it has content or is removed", { file: name });
      return undefined;
    }
    const textHash = createHash("sha256").update(text).digest("base64");
    if (this.#loadedText.get(name) === textHash) return "unchanged";
    let documents: unknown[];
    try {
      documents = expandLists(loadAll(text));
    } catch (error) {
      logger.error("manifest file is not valid YAML; keeping its previous objects", { file: name, error });
      return undefined;
    }
    const objects = new Map<string, ClusterObject>();
    for (const [index, document] of documents.entries()) {
      const parsed = parseClusterObject(document);
      if (parsed.ok === "ignored") {
        const reads = readApiVersion(parsed.kind);
        const fields = { file: name, document: index, kind: `${parsed.apiVersion}/${parsed.kind}`, ...refOf(document) };
        if (reads === undefined) logger.debug("ignoring object of a kind turnout does not read", fields);
        else logger.warn(`ignoring ${parsed.kind} of apiVersion ${parsed.apiVersion}: turnout reads ${reads}`, fields);
        continue;
      }
      if (!parsed.ok) {
        logger.error("invalid object in manifest file; keeping the file's previous objects", { file: name, document: index, ...refOf(document), reason: parsed.message });
        return undefined;
      }
      const id = identity(parsed.object);
      if (objects.has(id)) logger.warn("object defined twice in one manifest file; the last one is used", { file: name, kind: parsed.object.kind, ref: objectKey(parsed.object.meta) });
      objects.set(id, withFileVersion(parsed.object, document));
    }
    return { objects, textHash };
  }

  /** Brings the store in line with the files: per object, the first file by name that defines it. */
  #apply(): void {
    const { store, logger } = this.#options;
    const next = new Map<string, ClusterObject>();
    const definedIn = new Map<string, string[]>();
    for (const name of [...this.#byFile.keys()].sort()) {
      for (const [id, object] of this.#byFile.get(name)!) {
        const files = definedIn.get(id);
        if (files) files.push(name);
        else {
          definedIn.set(id, [name]);
          next.set(id, object);
        }
      }
    }
    const duplicates = new Set<string>();
    for (const [id, files] of definedIn) {
      if (files.length < 2) continue;
      const key = [id, ...files].join("\0");
      duplicates.add(key);
      if (this.#reportedDuplicates.has(key)) continue;
      const object = next.get(id)!;
      logger.warn("object defined in several manifest files; the first by name is used", { kind: object.kind, ref: objectKey(object.meta), files });
    }
    this.#reportedDuplicates = duplicates;
    for (const [id, object] of next) {
      if (object.kind !== "EndpointSlice" || this.#applied.get(id) === object) continue;
      const problem = handWrittenSliceProblem(object, next);
      if (problem) logger.warn(problem, { file: definedIn.get(id)![0], kind: object.kind, ref: objectKey(object.meta) });
    }
    for (const [id, object] of this.#applied) if (!next.has(id)) store.delete(object.kind, object.meta.namespace, object.meta.name);
    // Unchanged objects keep their resourceVersion: the store ignores them.
    for (const object of next.values()) store.upsert(object);
    this.#applied = next;
  }
}

/** Why a hand-written EndpointSlice serves no traffic, when it is a mistake the files show (a new or edited slice). */
function handWrittenSliceProblem(slice: EndpointSlice, objects: ReadonlyMap<string, ClusterObject>): string | undefined {
  if (slice.serviceName === "") return "EndpointSlice has no kubernetes.io/service-name label: it belongs to no Service and serves no traffic";
  const service = objects.get(identity({ kind: "Service", meta: { ...slice.meta, name: slice.serviceName } }));
  if (service?.kind !== "Service" || slice.ports.some((p) => service.ports.some((sp) => sp.name === p.name))) return undefined;
  const names = (ports: readonly { name: string }[]): string => ports.map((p) => JSON.stringify(p.name)).join(", ");
  return `EndpointSlice ports (${names(slice.ports)}) match no port of Service ${objectKey(service.meta)} (${names(service.ports)}) by name: it serves no traffic`;
}

/** The documents of a file, the items of a `kind: List` (what `kubectl get -o yaml` writes for several objects) in its place. */
function expandLists(documents: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const document of documents) {
    if (document === null || document === undefined) continue;
    if (isRecord(document) && document.kind === "List" && Array.isArray(document.items)) out.push(...(document.items as unknown[]));
    else out.push(document);
  }
  return out;
}

/** `ref` (namespace/name) of a document that names itself, for log lines about it. */
function refOf(document: unknown): { ref?: string } {
  const metadata = isRecord(document) ? document.metadata : undefined;
  if (!isRecord(metadata) || typeof metadata.name !== "string") return {};
  const namespace = typeof metadata.namespace === "string" && metadata.namespace !== "" ? metadata.namespace : "default";
  return { ref: `${namespace}/${metadata.name}` };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The resourceVersion of an object from a file: a hash of its content, so unchanged
 * objects are not re-announced. One written in the file (an object exported with
 * kubectl) is not used: it would stay the same across every edit.
 */
function withFileVersion<T extends ClusterObject>(object: T, document: unknown): T {
  const hash = createHash("sha256").update(JSON.stringify(document)).digest();
  // join builds one flat string; a template literal would keep a chain of pieces per object.
  const resourceVersion = ["file", hash.toString("hex", 0, 8)].join("-");
  return { ...object, meta: { ...object.meta, resourceVersion } };
}

/**
 * Manifest files under `folder`, sorted. Hidden files and folders are left out (.git,
 * editors' swap files, a mounted ConfigMap's ..data copies); a symbolic link to a
 * file is read (a mounted ConfigMap's files are links).
 */
async function listManifestFiles(folder: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  for (const entry of entries) {
    if (!(entry.isFile() || entry.isSymbolicLink()) || !MANIFEST_FILE.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    if (relative(folder, path).split(sep).some((part) => part.startsWith("."))) continue;
    // Editors' temporary files vanish between readdir and read; skip what is gone.
    if (await stat(path).then((s) => s.isFile(), () => false)) out.push(path);
  }
  return out.sort();
}
