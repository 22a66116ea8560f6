// Decides whether a user-written regular expression is safe to run on every
// request, and compiles it anchored. Pure; the rules are documented in
// docs/annotations.md ("Regular expressions").
import { intersection, intersects, union, EMPTY_SET, type CharSet } from "./char-set.ts";
import { parseRegex, type RegexNode } from "./regex-syntax.ts";

/** In code points. */
export const MAX_REGEX_LENGTH = 256;
/** Cap on the combined branch count of alternations whose branches overlap. */
export const MAX_AMBIGUOUS_BRANCHES = 64;
/** Cap on overlapping quantifiers in a row (2 allows `.*foo.*`; 3 is cubic). */
export const MAX_OVERLAPPING_QUANTIFIERS = 2;

export type SafeRegexResult = { ok: true; regex: RegExp } | { ok: false; reason: string };

/**
 * Checks `pattern` and compiles it as `^(?:pattern)$` with the `u` flag, so it
 * must match the whole value. `reason` reads after the pattern: "… is not a valid …".
 */
export function compileSafeRegex(pattern: string): SafeRegexResult {
  const length = [...pattern].length;
  if (length > MAX_REGEX_LENGTH) {
    return { ok: false, reason: `is ${length} characters long; the limit is ${MAX_REGEX_LENGTH}` };
  }
  const syntaxError = findSyntaxError(pattern);
  if (syntaxError !== undefined) return { ok: false, reason: `is not a valid regular expression (${syntaxError})` };
  const parsed = parseRegex(pattern);
  if (!parsed.ok) return parsed;
  const risk = findBacktrackingRisk(pattern, parsed.alternatives);
  if (risk !== undefined) return { ok: false, reason: risk };
  // Validated standalone above, so the pattern cannot close the wrapping group early.
  return { ok: true, regex: new RegExp(`^(?:${pattern})$`, "u") };
}

function findSyntaxError(pattern: string): string | undefined {
  try {
    new RegExp(pattern, "u");
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // V8: "Invalid regular expression: /<pattern>/u: <reason>"; keep the reason.
    return message.slice(message.lastIndexOf(": ") + 2);
  }
}

function findBacktrackingRisk(pattern: string, top: RegexNode[][]): string | undefined {
  const quote = (node: RegexNode): string => pattern.slice(node.start, node.end);
  const nodes = top.flatMap((sequence) => sequence.flatMap(descendants));

  for (const repeat of nodes) {
    if (repeat.kind !== "repeat" || repeat.max <= 1) continue;
    const inner = descendants(repeat.body).find((node) => node.kind === "repeat" && node.min !== node.max);
    if (inner !== undefined) {
      return `nests the quantifier ${quote(inner)} inside the repeated ${quote(repeat)}, which can backtrack catastrophically`;
    }
    const overlapping = descendants(repeat.body).find(isAmbiguousGroup);
    if (overlapping !== undefined) {
      return `repeats ${quote(repeat)}, whose alternation ${quote(overlapping)} has branches that can start with the same character or match empty text, which can backtrack catastrophically`;
    }
    if (nullable(repeat.body)) {
      return `repeats ${quote(repeat)}, whose body can match empty text`;
    }
  }

  const branches = nodes.filter(isAmbiguousGroup).reduce((product, group) => {
    return group.kind === "group" ? product * group.alternatives.length : product;
  }, 1);
  if (branches > MAX_AMBIGUOUS_BRANCHES) {
    return `has alternations whose branches can start with the same character, ${branches} combinations in all; the limit is ${MAX_AMBIGUOUS_BRANCHES}`;
  }

  const sequences = [...top, ...nodes.flatMap((node) => (node.kind === "group" ? node.alternatives : []))];
  for (const sequence of sequences) {
    const chain = overlappingChain(flatten(sequence));
    if (chain.length > 0) {
      return `has more than ${MAX_OVERLAPPING_QUANTIFIERS} quantifiers in a row that can match the same text (${chain.map(quote).join(", ")}), which can take polynomial time`;
    }
  }
  return undefined;
}

/**
 * A run of more than MAX_OVERLAPPING_QUANTIFIERS variable-count parts, each able
 * to hand text to the next (they share characters, and everything between them
 * can match those too); empty when there is none.
 */
function overlappingChain(elements: RegexNode[]): RegexNode[] {
  const variable = elements.map((node, index) => ({ node, index })).filter(({ node }) => hasVariableRepeat(node));
  const best: { length: number; previous: number }[] = [];
  for (let j = 0; j < variable.length; j++) {
    let entry = { length: 1, previous: -1 };
    for (let i = 0; i < j; i++) {
      const candidate = best[i]?.length ?? 0;
      if (candidate + 1 > entry.length && canHandOver(elements, variable[i]?.index ?? 0, variable[j]?.index ?? 0)) {
        entry = { length: candidate + 1, previous: i };
      }
    }
    best.push(entry);
    if (entry.length > MAX_OVERLAPPING_QUANTIFIERS) {
      const chain: RegexNode[] = [];
      for (let at = j; at >= 0; at = best[at]?.previous ?? -1) {
        const part = variable[at];
        if (part !== undefined) chain.unshift(part.node);
      }
      return chain;
    }
  }
  return [];
}

function canHandOver(elements: RegexNode[], from: number, to: number): boolean {
  const fromNode = elements[from];
  const toNode = elements[to];
  if (fromNode === undefined || toNode === undefined) return false;
  const shared = intersection(allChars(fromNode), allChars(toNode));
  if (shared.length === 0) return false;
  return elements.slice(from + 1, to).every((between) => nullable(between) || intersects(allChars(between), shared));
}

/** Splices groups without alternation into the surrounding sequence. */
function flatten(sequence: RegexNode[]): RegexNode[] {
  return sequence.flatMap((node) => {
    const only = node.kind === "group" && node.alternatives.length === 1 ? node.alternatives[0] : undefined;
    return only === undefined ? [node] : flatten(only);
  });
}

function descendants(node: RegexNode): RegexNode[] {
  if (node.kind === "group") return [node, ...node.alternatives.flat().flatMap(descendants)];
  if (node.kind === "repeat") return [node, ...descendants(node.body)];
  return [node];
}

function hasVariableRepeat(node: RegexNode): boolean {
  return descendants(node).some((part) => part.kind === "repeat" && part.min !== part.max);
}

/** An alternation where more than one branch may be worth trying at the same spot. */
function isAmbiguousGroup(node: RegexNode): boolean {
  if (node.kind !== "group" || node.alternatives.length < 2) return false;
  const firsts = node.alternatives.map(firstCharsOfSequence);
  if (node.alternatives.some(nullableSequence)) return true;
  return firsts.some((first, i) => firsts.slice(i + 1).some((other) => intersects(first, other)));
}

function nullable(node: RegexNode): boolean {
  switch (node.kind) {
    case "chars":
      return false;
    case "assertion":
      return true;
    case "group":
      return node.alternatives.some(nullableSequence);
    case "repeat":
      return node.min === 0 || nullable(node.body);
  }
}

function nullableSequence(sequence: RegexNode[]): boolean {
  return sequence.every(nullable);
}

function firstChars(node: RegexNode): CharSet {
  switch (node.kind) {
    case "chars":
      return node.set;
    case "assertion":
      return EMPTY_SET;
    case "group":
      return union(...node.alternatives.map(firstCharsOfSequence));
    case "repeat":
      return firstChars(node.body);
  }
}

function firstCharsOfSequence(sequence: RegexNode[]): CharSet {
  const sets: CharSet[] = [];
  for (const node of sequence) {
    sets.push(firstChars(node));
    if (!nullable(node)) break;
  }
  return union(...sets);
}

const allCharsCache = new WeakMap<RegexNode, CharSet>();

function allChars(node: RegexNode): CharSet {
  let set = allCharsCache.get(node);
  if (set === undefined) {
    set = union(...descendants(node).map((part) => (part.kind === "chars" ? part.set : EMPTY_SET)));
    allCharsCache.set(node, set);
  }
  return set;
}
