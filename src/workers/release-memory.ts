// Gives back the memory a start-up burst grew. Loading thousands of objects and
// building the first table makes V8 grow its young generation to the maximum
// (134 MB on a large host) and its old generation well past what stays live; it
// keeps both until memory pressure, which an idle controller never feels.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

interface GcOptions {
  type: "major";
  execution: "sync";
  /** "last-resort" collects until nothing more is freed and shrinks the young generation. */
  flavor: "last-resort";
}

/**
 * One full, memory-reducing collection (a pause of ~0.1-0.3 s at 10,000 Ingresses).
 * V8 offers it through its gc() extension only; the flag is set just long enough
 * to fetch gc from a fresh context, so the process's own global scope never has it.
 */
export function releaseMemory(): void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as (options: GcOptions) => void;
  setFlagsFromString("--no-expose-gc");
  gc({ type: "major", execution: "sync", flavor: "last-resort" });
}
