// How much of the machine others used while we measured: CPU time the kernel
// counts as busy (every process, plus steal) minus the CPU time of this benchmark
// and its descendants (reaped ones through their parents' cutime/cstime). On a
// shared machine this is the first thing to check on an odd figure.
import { readFileSync, readdirSync } from "node:fs";
import { clockTicksPerSecond } from "./system-tools.ts";

const TICKS = clockTicksPerSecond();

export interface CpuSnapshot {
  at: number;
  busyTicks: number;
  ownTicks: number;
}

function machineBusyTicks(): number {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return user + nice + system + irq + softirq + steal;
}

/** CPU ticks of this process and every live descendant, each with its reaped children. */
function ownTreeTicks(): number {
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const pid = Number(entry);
      const ppid = Number(fields[1]);
      // utime, stime, cutime, cstime: fields 14 to 17 of /proc/<pid>/stat.
      ticks.set(pid, Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]));
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0;
  const pending = [process.pid];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    total += ticks.get(pid) ?? 0;
    pending.push(...(children.get(pid) ?? []));
  }
  return total;
}

export function cpuSnapshot(): CpuSnapshot {
  try {
    return { at: performance.now(), busyTicks: machineBusyTicks(), ownTicks: ownTreeTicks() };
  } catch {
    return { at: performance.now(), busyTicks: Number.NaN, ownTicks: Number.NaN };
  }
}

/** Cores' worth of CPU others used between two snapshots (never below 0). */
export function othersCores(before: CpuSnapshot, after: CpuSnapshot): number {
  const seconds = (after.at - before.at) / 1000;
  const foreignTicks = after.busyTicks - before.busyTicks - (after.ownTicks - before.ownTicks);
  return seconds > 0 ? Math.max(0, foreignTicks / TICKS / seconds) : Number.NaN;
}

/** Cores' worth of CPU the whole machine used between two snapshots: 2.0 on 2 cores is all there is. */
export function busyCores(before: CpuSnapshot, after: CpuSnapshot): number {
  const seconds = (after.at - before.at) / 1000;
  return seconds > 0 ? (after.busyTicks - before.busyTicks) / TICKS / seconds : Number.NaN;
}
