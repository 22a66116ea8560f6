// Reads what the Dockerfile promises without a Docker engine: its stages and instructions, the files
// .dockerignore keeps out of the build context, and the runtime module graph reachable from the entry script.
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  image: string;
  alias: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages; continuation lines are joined and comments dropped. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    logical.push(pending + line);
    pending = "";
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    if (match === null) continue;
    const keyword = (match[1] ?? "").toUpperCase();
    const args = (match[2] ?? "").trim();
    if (keyword === "FROM") {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (from === null) throw new Error(`cannot read FROM ${args}`);
      stages.push({ image: from[1] ?? "", alias: from[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`${keyword} before the first FROM`);
    stage.instructions.push({ keyword, args });
  }
  return stages;
}

export function instructions(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** WORKDIR in effect at the end of a stage ("/" when none). */
export function workdir(stage: Stage): string {
  return instructions(stage, "WORKDIR").reduce((dir, next) => resolve(dir, next), "/");
}

export interface Copy {
  from: string | undefined;
  sources: string[];
  destination: string;
}

/** COPY instructions in their shell form (`COPY [--from=x] [--chown=...] src... dest`). */
export function copies(stage: Stage): Copy[] {
  return instructions(stage, "COPY").map((args) => {
    const words = args.split(/\s+/);
    const flags = words.filter((w) => w.startsWith("--"));
    const paths = words.filter((w) => !w.startsWith("--"));
    const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length);
    return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? "" };
  });
}

function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? "";
    if (pattern.startsWith("**/", i)) {
      source += "(?:.*/)?";
      i += 2;
    } else if (pattern.startsWith("**", i)) {
      source += ".*";
      i += 1;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** Whether a context-relative path is left out by .dockerignore (a matching directory excludes its contents). */
export function dockerIgnores(ignoreText: string): (path: string) => boolean {
  const patterns = ignoreText
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  if (patterns.some((p) => p.startsWith("!"))) throw new Error(".dockerignore exceptions (!) are not modelled here");
  const regexps = patterns.map((p) => globToRegExp(p.replace(/^\/+|\/+$/g, "")));
  return (path) => {
    const segments = path.split("/");
    for (let end = 1; end <= segments.length; end++) {
      const prefix = segments.slice(0, end).join("/");
      if (regexps.some((r) => r.test(prefix))) return true;
    }
    return false;
  };
}

export interface ModuleGraph {
  /** Repository-relative paths of the local modules reachable at runtime. */
  files: string[];
  /** Bare specifiers (packages and builtins) those modules import at runtime. */
  packages: string[];
}

const STATIC_IMPORT = /^[ \t]*(import|export)\s+(type\s+)?[^;]*?\bfrom\s*["']([^"']+)["']/gm;
const SIDE_EFFECT_IMPORT = /^[ \t]*import\s*["']([^"']+)["']/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** Specifiers a module loads at runtime; `import type` / `export type` are erased by type stripping. */
export function runtimeSpecifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(STATIC_IMPORT)) if (m[2] === undefined && m[3] !== undefined) found.push(m[3]);
  for (const m of source.matchAll(SIDE_EFFECT_IMPORT)) if (m[1] !== undefined) found.push(m[1]);
  for (const m of source.matchAll(DYNAMIC_IMPORT)) if (m[1] !== undefined) found.push(m[1]);
  return found;
}

/** Follows runtime imports from `entry` (repository-relative); modules that do not exist are left to the type-checker. */
export function runtimeModuleGraph(root: string, entry: string): ModuleGraph {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [resolve(root, entry)];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    const path = relative(root, file);
    if (files.has(path) || !existsSync(file)) continue;
    files.add(path);
    for (const specifier of runtimeSpecifiers(readFileSync(file, "utf8"))) {
      if (specifier.startsWith(".") || specifier.startsWith("/")) queue.push(resolve(dirname(file), specifier));
      else packages.add(specifier);
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}

/** npm package name of a bare specifier, or undefined for a Node builtin. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith("node:") || builtinModules.includes(specifier.split("/")[0] ?? "")) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

export function readRepoFile(root: string, path: string): string {
  return readFileSync(join(root, path), "utf8");
}
