// PATCH bodies: JSON merge patch (RFC 7386, also used for strategic merge patch, whose
// list-merge keys this server does not know) and JSON patch (RFC 6902). Pure functions.

import { isDeepStrictEqual } from "node:util";
import { ApiError, badRequest, failureStatus } from "./status.ts";

export type PatchType = "merge" | "json";

const CONTENT_TYPES: Readonly<Record<string, PatchType>> = {
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "merge",
  "application/json-patch+json": "json",
};

/** Maps a PATCH Content-Type to how it is applied; unknown types are 415 as on a real server. */
export function patchTypeOf(contentType: string | undefined): PatchType {
  const base = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const type = CONTENT_TYPES[base];
  if (type === undefined) {
    throw new ApiError(failureStatus(415, `the body of the request was in an unknown format - accepted media types include: ${Object.keys(CONTENT_TYPES).join(", ")}`, "UnsupportedMediaType"));
  }
  return type;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else {
      result[key] = mergePatch(result[key], value);
    }
  }
  return result;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function patchError(message: string): ApiError {
  return new ApiError(failureStatus(422, `the server rejected our request due to an error in our request: ${message}`, "Invalid"));
}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw patchError(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split("/")
    .map((token) => token.replaceAll("~1", "/").replaceAll("~0", "~"));
}

type Container = Record<string, unknown> | unknown[];

/** Walks to the parent of the pointer's last token; the document is already a private copy. */
function resolveParent(doc: unknown, tokens: string[], pointer: string): { parent: Container; key: string } {
  let current = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(current)) current = current[Number(token)];
    else if (isPlainObject(current)) current = current[token];
    else current = undefined;
  }
  const key = tokens[tokens.length - 1];
  if (key === undefined || (!Array.isArray(current) && !isPlainObject(current))) {
    throw patchError(`path "${pointer}" does not exist`);
  }
  return { parent: current, key };
}

function arrayIndex(array: unknown[], key: string, pointer: string, allowEnd: boolean): number {
  if (key === "-" && allowEnd) return array.length;
  const index = Number(key);
  const max = allowEnd ? array.length : array.length - 1;
  if (!/^(0|[1-9]\d*)$/.test(key) || index > max) throw patchError(`index out of range in "${pointer}"`);
  return index;
}

function getAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const { parent, key } = resolveParent(doc, tokens, pointer);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, key, pointer, false)];
  if (!Object.hasOwn(parent, key)) throw patchError(`path "${pointer}" does not exist`);
  return parent[key];
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  const { parent, key } = resolveParent(doc, tokens, pointer);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, pointer, false), 1)[0];
  if (!Object.hasOwn(parent, key)) throw patchError(`path "${pointer}" does not exist`);
  const value = parent[key];
  delete parent[key];
  return value;
}

/** Returns the new document (the root may be replaced by a whole-document op). */
function addAt(doc: unknown, pointer: string, value: unknown, replace: boolean): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, key } = resolveParent(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, key, pointer, !replace);
    parent.splice(index, replace ? 1 : 0, value);
  } else {
    if (replace && !Object.hasOwn(parent, key)) throw patchError(`path "${pointer}" does not exist`);
    parent[key] = value;
  }
  return doc;
}

export function applyJsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest("a JSON patch must be an array of operations");
  let doc = structuredClone(document);
  for (const raw of operations) {
    if (!isPlainObject(raw) || typeof raw.op !== "string" || typeof raw.path !== "string") {
      throw badRequest(`invalid JSON patch operation: ${JSON.stringify(raw)}`);
    }
    const op = raw as unknown as JsonPatchOp;
    const from = typeof op.from === "string" ? op.from : undefined;
    switch (op.op) {
      case "add":
        doc = addAt(doc, op.path, structuredClone(op.value), false);
        break;
      case "replace":
        doc = addAt(doc, op.path, structuredClone(op.value), true);
        break;
      case "remove":
        removeAt(doc, op.path);
        break;
      case "move": {
        if (from === undefined) throw badRequest(`"move" needs "from"`);
        doc = addAt(doc, op.path, removeAt(doc, from), false);
        break;
      }
      case "copy": {
        if (from === undefined) throw badRequest(`"copy" needs "from"`);
        doc = addAt(doc, op.path, structuredClone(getAt(doc, from)), false);
        break;
      }
      case "test": {
        const actual = getAt(doc, op.path);
        if (!isDeepStrictEqual(actual, op.value)) throw patchError(`test failed at "${op.path}"`);
        break;
      }
      default:
        throw badRequest(`unknown JSON patch operation "${op.op}"`);
    }
  }
  return doc;
}

export function applyPatch(type: PatchType, document: unknown, patch: unknown): unknown {
  return type === "merge" ? mergePatch(document, patch) : applyJsonPatch(document, patch);
}
