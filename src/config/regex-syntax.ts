// A small parser for JavaScript `u`-flag regular expressions, producing just the
// structure the safety checker needs. It runs only on patterns the engine has
// already accepted, and rejects the features turnout does not allow.
import {
  ANY_CHAR,
  DIGIT,
  DOT,
  SPACE,
  WORD,
  charSetOf,
  complement,
  singleChar,
  union,
  type CharSet,
} from "./char-set.ts";

interface Span {
  /** Offsets into the pattern (UTF-16 units), for quoting the offending part. */
  start: number;
  end: number;
}

export type RegexNode =
  | (Span & { kind: "chars"; set: CharSet })
  | (Span & { kind: "assertion" })
  | (Span & { kind: "group"; alternatives: RegexNode[][] })
  | (Span & { kind: "repeat"; min: number; max: number; body: RegexNode });

export type RegexParse = { ok: true; alternatives: RegexNode[][] } | { ok: false; reason: string };

/** Larger repetition counts are rejected; they only make sense as mistakes here. */
export const MAX_REPEAT_COUNT = 1000;

/** Thrown inside the parser for a disallowed feature; never escapes parseRegex. */
class Disallowed extends Error {}

const CONTROL_ESCAPES: Readonly<Record<string, number>> = { t: 9, n: 10, v: 11, f: 12, r: 13 };

/** Parses `pattern`, which must already compile with the `u` flag. */
export function parseRegex(pattern: string): RegexParse {
  const parser = new RegexParser(pattern);
  try {
    const alternatives = parser.parseAlternatives();
    return { ok: true, alternatives };
  } catch (error) {
    if (error instanceof Disallowed) return { ok: false, reason: error.message };
    throw error;
  }
}

class RegexParser {
  readonly pattern: string;
  pos = 0;

  constructor(pattern: string) {
    this.pattern = pattern;
  }

  parseAlternatives(): RegexNode[][] {
    const alternatives = [this.parseSequence()];
    while (this.peek() === "|") {
      this.pos++;
      alternatives.push(this.parseSequence());
    }
    return alternatives;
  }

  private parseSequence(): RegexNode[] {
    const nodes: RegexNode[] = [];
    while (this.pos < this.pattern.length && this.peek() !== "|" && this.peek() !== ")") {
      nodes.push(this.parseQuantified(this.parseAtom()));
    }
    return nodes;
  }

  private parseQuantified(atom: RegexNode): RegexNode {
    const start = atom.start;
    const char = this.peek();
    let min: number;
    let max: number;
    if (char === "*" || char === "+" || char === "?") {
      this.pos++;
      min = char === "+" ? 1 : 0;
      max = char === "?" ? 1 : Infinity;
    } else if (char === "{") {
      const match = /^\{(\d+)(,(\d*))?\}/.exec(this.pattern.slice(this.pos));
      if (match === null) return atom;
      this.pos += match[0].length;
      min = Number(match[1]);
      max = match[2] === undefined ? min : match[3] === "" ? Infinity : Number(match[3]);
      if (min > MAX_REPEAT_COUNT || (max !== Infinity && max > MAX_REPEAT_COUNT)) {
        throw new Disallowed(`uses a repetition count above ${MAX_REPEAT_COUNT} (${match[0]})`);
      }
    } else {
      return atom;
    }
    if (this.peek() === "?") this.pos++;
    return { kind: "repeat", min, max, body: atom, start, end: this.pos };
  }

  private parseAtom(): RegexNode {
    const start = this.pos;
    const char = this.peek();
    if (char === "(") return this.parseGroup();
    if (char === "[") return { kind: "chars", set: this.parseClass(), start, end: this.pos };
    if (char === "^" || char === "$") {
      this.pos++;
      return { kind: "assertion", start, end: this.pos };
    }
    if (char === ".") {
      this.pos++;
      return { kind: "chars", set: DOT, start, end: this.pos };
    }
    if (char === "\\") {
      const next = this.pattern[this.pos + 1];
      if (next === "b" || next === "B") {
        this.pos += 2;
        return { kind: "assertion", start, end: this.pos };
      }
      return { kind: "chars", set: this.parseEscape(false), start, end: this.pos };
    }
    return { kind: "chars", set: singleChar(this.takeCodePoint()), start, end: this.pos };
  }

  private parseGroup(): RegexNode {
    const start = this.pos;
    const rest = this.pattern.slice(this.pos);
    if (/^\(\?<?[=!]/.test(rest)) {
      throw new Disallowed("uses lookahead or lookbehind ((?=, (?!, (?<=, (?<!), which is not allowed");
    }
    const prefix = /^\((?:\?:|\?<[^>]+>)?/.exec(rest)?.[0] ?? "(";
    if (rest.startsWith("(?") && prefix === "(") {
      throw new Disallowed("uses a group form other than (...), (?:...) and (?<name>...), which is not allowed");
    }
    this.pos += prefix.length;
    const alternatives = this.parseAlternatives();
    this.pos++; // the closing parenthesis
    return { kind: "group", alternatives, start, end: this.pos };
  }

  private parseClass(): CharSet {
    this.pos++; // [
    const negated = this.peek() === "^";
    if (negated) this.pos++;
    const parts: CharSet[] = [];
    while (this.peek() !== "]") {
      const from = this.parseClassAtom();
      const single = from.length === 1 && from[0]?.[0] === from[0]?.[1];
      if (this.peek() === "-" && this.pattern[this.pos + 1] !== "]" && single) {
        this.pos++;
        const to = this.parseClassAtom();
        parts.push(charSetOf([[from[0]?.[0] ?? 0, to[0]?.[1] ?? 0]]));
      } else {
        parts.push(from);
      }
    }
    this.pos++; // ]
    const set = union(...parts);
    return negated ? complement(set) : set;
  }

  private parseClassAtom(): CharSet {
    if (this.peek() !== "\\") return singleChar(this.takeCodePoint());
    if (this.pattern[this.pos + 1] === "b") {
      this.pos += 2;
      return singleChar(8);
    }
    return this.parseEscape(true);
  }

  /** An escape that stands for characters; `\b`/`\B` are handled by the callers. */
  private parseEscape(inClass: boolean): CharSet {
    this.pos++; // backslash
    const char = this.peek();
    this.pos++;
    switch (char) {
      case "d":
        return DIGIT;
      case "D":
        return complement(DIGIT);
      case "w":
        return WORD;
      case "W":
        return complement(WORD);
      case "s":
        return SPACE;
      case "S":
        return complement(SPACE);
      case "p":
      case "P":
        // Unicode property classes are over-approximated as "any character".
        this.pos = this.pattern.indexOf("}", this.pos) + 1;
        return ANY_CHAR;
      case "k":
        throw new Disallowed("uses a backreference (\\k<name>), which is not allowed");
      case "0":
        return singleChar(0);
      case "c":
        return singleChar(this.pattern.charCodeAt(this.pos++) % 32);
      case "x":
        return singleChar(this.takeHex(2));
      case "u":
        return singleChar(this.parseUnicodeEscape());
      default:
        if (/^[1-9]$/.test(char) && !inClass) {
          throw new Disallowed(`uses a backreference (\\${char}), which is not allowed`);
        }
        return singleChar(CONTROL_ESCAPES[char] ?? char.codePointAt(0) ?? 0);
    }
  }

  private parseUnicodeEscape(): number {
    if (this.peek() === "{") {
      const close = this.pattern.indexOf("}", this.pos);
      const value = parseInt(this.pattern.slice(this.pos + 1, close), 16);
      this.pos = close + 1;
      return value;
    }
    const unit = this.takeHex(4);
    const low = /^\\u(d[c-f][0-9a-f]{2})/i.exec(this.pattern.slice(this.pos));
    if (unit >= 0xd800 && unit <= 0xdbff && low?.[1] !== undefined) {
      // A surrogate pair written as two escapes is one code point under `u`.
      this.pos += 6;
      return 0x10000 + (unit - 0xd800) * 0x400 + (parseInt(low[1], 16) - 0xdc00);
    }
    return unit;
  }

  private takeHex(digits: number): number {
    const value = parseInt(this.pattern.slice(this.pos, this.pos + digits), 16);
    this.pos += digits;
    return value;
  }

  private takeCodePoint(): number {
    const codePoint = this.pattern.codePointAt(this.pos) ?? 0;
    this.pos += codePoint > 0xffff ? 2 : 1;
    return codePoint;
  }

  private peek(): string {
    return this.pattern[this.pos] ?? "";
  }
}
