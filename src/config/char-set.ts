// Sets of Unicode code points as sorted, disjoint, inclusive ranges. The regex
// safety checker uses them to decide whether two parts of a pattern can match
// the same character; over-approximating a set only makes the checker stricter.

/** Sorted, non-overlapping, non-adjacent inclusive [lo, hi] ranges. */
export type CharSet = readonly (readonly [number, number])[];

export const MAX_CODE_POINT = 0x10ffff;

export const EMPTY_SET: CharSet = [];
export const ANY_CHAR: CharSet = [[0, MAX_CODE_POINT]];

/** Normalises arbitrary ranges into a CharSet. */
export function charSetOf(ranges: readonly (readonly [number, number])[]): CharSet {
  const sorted = ranges.filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && lo <= last[1] + 1) {
      last[1] = Math.max(last[1], hi);
    } else {
      merged.push([lo, hi]);
    }
  }
  return merged;
}

export function singleChar(codePoint: number): CharSet {
  return [[codePoint, codePoint]];
}

export function union(...sets: CharSet[]): CharSet {
  return charSetOf(sets.flat());
}

export function complement(set: CharSet): CharSet {
  const result: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) result.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) result.push([next, MAX_CODE_POINT]);
  return result;
}

export function intersection(a: CharSet, b: CharSet): CharSet {
  const result: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [aLo, aHi] = a[i] ?? [0, -1];
    const [bLo, bHi] = b[j] ?? [0, -1];
    const lo = Math.max(aLo, bLo);
    const hi = Math.min(aHi, bHi);
    if (lo <= hi) result.push([lo, hi]);
    if (aHi < bHi) i++;
    else j++;
  }
  return result;
}

export function intersects(a: CharSet, b: CharSet): boolean {
  return intersection(a, b).length > 0;
}

const code = (char: string): number => char.codePointAt(0) ?? 0;

/** `\d` */
export const DIGIT: CharSet = [[code("0"), code("9")]];
/** `\w` (without the `i` flag) */
export const WORD: CharSet = charSetOf([
  [code("0"), code("9")],
  [code("A"), code("Z")],
  [code("_"), code("_")],
  [code("a"), code("z")],
]);
/** `\s`: ECMAScript WhiteSpace and LineTerminator. */
export const SPACE: CharSet = charSetOf([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
/** `.` without the `s` flag: anything but a line terminator. */
export const DOT: CharSet = complement(charSetOf([
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
]));
