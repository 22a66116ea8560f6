// Finds nginx and wrk, installing them from Debian's packages when missing
// (apt-get update once, then apt-get install). Never throws: when they cannot
// be had, says why, and the sections that need them are skipped.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export interface SystemTools {
  nginx: string | undefined;
  wrk: string | undefined;
  nginxVersion: string;
  wrkVersion: string;
  /** Why a tool is missing, when one is. */
  problem: string | undefined;
}

const SEARCH_PATH = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"];

function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(":").filter((d) => d !== ""), ...SEARCH_PATH];
  return dirs.map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

/** The first package apt can install (a candidate other than "(none)"). */
function installable(candidates: readonly string[]): string | undefined {
  return candidates.find((name) => {
    const policy = spawnSync("apt-cache", ["policy", name], { encoding: "utf8" });
    const candidate = /Candidate:\s*(\S+)/.exec(policy.stdout ?? "")?.[1];
    return candidate !== undefined && candidate !== "(none)";
  });
}

function aptInstall(missing: { nginx: boolean; wrk: boolean }, log: (line: string) => void): string | undefined {
  if (which("apt-get") === undefined || which("apt-cache") === undefined) return "apt-get is not available on this machine";
  if (process.getuid?.() !== 0) return "not running as root, so apt-get install is not possible";
  log("bench setup: apt-get update (once) ...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update", "-qq"], { encoding: "utf8", env, timeout: 180_000 });
  if (update.status !== 0) return `apt-get update failed: ${(update.stderr ?? "").trim().split("\n").slice(-2).join(" ")}`;
  const packages: string[] = [];
  if (missing.nginx) {
    const nginx = installable(["nginx-light", "nginx"]);
    if (nginx === undefined) return "neither nginx-light nor nginx has an installation candidate";
    packages.push(nginx);
  }
  if (missing.wrk) {
    if (installable(["wrk"]) === undefined) return "wrk has no installation candidate";
    packages.push("wrk");
  }
  log(`bench setup: apt-get install -y ${packages.join(" ")} ...`);
  const install = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { encoding: "utf8", env, timeout: 300_000 });
  if (install.status !== 0) return `apt-get install ${packages.join(" ")} failed: ${(install.stderr ?? "").trim().split("\n").slice(-2).join(" ")}`;
  return undefined;
}

function versionOf(command: string | undefined, args: string[]): string {
  if (command === undefined) return "missing";
  const run = spawnSync(command, args, { encoding: "utf8" });
  const text = `${run.stdout ?? ""}${run.stderr ?? ""}`;
  return /(nginx\/\S+|wrk \S+)/.exec(text)?.[1] ?? text.trim().split("\n")[0] ?? "unknown";
}

export function ensureSystemTools(log: (line: string) => void): SystemTools {
  let problem: string | undefined;
  const missing = { nginx: which("nginx") === undefined, wrk: which("wrk") === undefined };
  if (missing.nginx || missing.wrk) problem = aptInstall(missing, log);
  const nginx = which("nginx");
  const wrk = which("wrk");
  if (problem === undefined && (nginx === undefined || wrk === undefined)) problem = "installed, yet nginx or wrk is still not on the PATH";
  return { nginx, wrk, nginxVersion: versionOf(nginx, ["-v"]), wrkVersion: versionOf(wrk, ["-v"]), problem };
}

/** Clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
export function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}
