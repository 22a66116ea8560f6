// turnout.dev/match-headers, -cookies and -query: a small tokenizer splits the
// value into entries (`Name=value`, `Name~regex`, `Name`), and zod schemas
// validate each entry into a MatchCondition.
import { z } from "zod";
import type { MatchCondition, MatchSource } from "../routing/route-table.ts";
import { compileSafeRegex } from "./safe-regex.ts";

/** More conditions than this in one annotation is an error (each costs per request). */
export const MAX_CONDITIONS = 32;
export const MAX_NAME_LENGTH = 256;

/** RFC 9110 token: header names, and cookie names per RFC 6265. */
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TOKEN_CHARS = "letters, digits and !#$%&'*+-.^_`|~";
/** Query names as a request can carry them: no whitespace, controls or & = # , ~. */
const QUERY_NAME = /^[^\s\p{Cc}&=#,~]+$/u;
/** Tab is allowed inside values; other control characters never reach a match. */
const hasControlChars = (value: string): boolean => /\p{Cc}/u.test(value.replaceAll("\t", ""));

/**
 * Splits an annotation value into trimmed, non-empty entries. `,` and newlines
 * separate entries; after `~`, a comma inside (), {} or [] or escaped as `\,`
 * belongs to the regex (so `a{1,3}` works), and only a newline or a top-level
 * comma ends the entry.
 */
export function splitConditionEntries(text: string): string[] {
  const entries: string[] = [];
  let current = "";
  let operator: "=" | "~" | undefined;
  let escaped = false;
  let inClass = false;
  let depth = 0;
  const finish = (): void => {
    entries.push(current.trim());
    current = "";
    operator = undefined;
    escaped = false;
    inClass = false;
    depth = 0;
  };
  for (const char of text) {
    if (char === "\n") {
      finish();
      continue;
    }
    if (operator === "~") {
      if (escaped) escaped = false;
      else if (char === "\\") escaped = true;
      else if (inClass) inClass = char !== "]";
      else if (char === "[") inClass = true;
      else if (char === "(" || char === "{") depth++;
      else if ((char === ")" || char === "}") && depth > 0) depth--;
      else if (char === "," && depth === 0) {
        finish();
        continue;
      }
    } else if (char === ",") {
      finish();
      continue;
    } else if (operator === undefined && (char === "=" || char === "~")) {
      operator = char;
    }
    current += char;
  }
  finish();
  return entries.filter((entry) => entry !== "");
}

type RawEntry = { op: "present"; name: string } | { op: "equals" | "regex"; name: string; value: string };

/** The name ends at the first `=` (equals) or `~` (regex); without either, presence. */
function tokenizeEntry(entry: string): RawEntry {
  const at = entry.search(/[=~]/);
  if (at < 0) return { op: "present", name: entry };
  const op = entry[at] === "=" ? "equals" : "regex";
  return { op, name: entry.slice(0, at), value: entry.slice(at + 1) };
}

/** A header, cookie or query parameter name; header names come out lower-case. */
export function nameSchema(source: MatchSource): z.ZodType<string, string> {
  const named = z
    .string()
    .min(1, { message: `${source} name is empty`, abort: true })
    .max(MAX_NAME_LENGTH, { message: `${source} name is longer than ${MAX_NAME_LENGTH} characters`, abort: true });
  if (source === "query") {
    return named.regex(QUERY_NAME, "query parameter name must not contain whitespace, control characters or & = # , ~");
  }
  const token = named.regex(HTTP_TOKEN, `${source} name must consist of ${TOKEN_CHARS}`);
  return source === "header" ? token.transform((name) => name.toLowerCase()) : token;
}

function equalsValueSchema(source: MatchSource): z.ZodType<string, string> {
  const plain = z.string().refine((value) => !hasControlChars(value), "value must not contain control characters");
  if (source === "query") return plain;
  // Node reads header bytes as latin1, and clients differ in how they encode other text.
  const ascii = plain.refine((value) => /^\p{ASCII}*$/u.test(value), `value must be ASCII: ${source} values are bytes, and a UTF-8 client's text would never equal it`);
  const trimmed = ascii.refine(
    (value) => value === value.trim(),
    source === "header"
      ? "value must not start or end with whitespace (HTTP strips it from header values, so this could never match)"
      : "value must not start or end with whitespace",
  );
  return source === "cookie" ? trimmed.refine((value) => !value.includes(";"), "cookie value must not contain ;") : trimmed;
}

/**
 * `\,` is the annotation's own escape (a comma that does not end the entry); JavaScript's
 * unicode-mode regexes reject it, so it becomes a plain comma. Pairs are read left to
 * right, so `\\,` stays an escaped backslash followed by a comma.
 */
function unescapeCommas(regex: string): string {
  return regex.replace(/\\([\s\S])/g, (pair: string, char: string) => (char === "," ? "," : pair));
}

const regexValueSchema = z
  .string()
  .min(1, "regular expression is empty (write Name= to match an empty value, or Name alone to match any value)")
  .transform((written, ctx) => {
    const pattern = unescapeCommas(written);
    const result = compileSafeRegex(pattern);
    if (result.ok) return { pattern, regex: result.regex };
    ctx.issues.push({ code: "custom", message: `regular expression ${result.reason}`, input: pattern });
    return z.NEVER;
  });

function entrySchema(source: MatchSource): z.ZodType<MatchCondition, RawEntry> {
  const name = nameSchema(source);
  return z
    .discriminatedUnion("op", [
      z.object({ op: z.literal("present"), name }),
      z.object({ op: z.literal("equals"), name, value: equalsValueSchema(source) }),
      z.object({ op: z.literal("regex"), name, value: regexValueSchema }),
    ])
    .transform((entry): MatchCondition => {
      switch (entry.op) {
        case "present":
          return { source, name: entry.name, op: "present" };
        case "equals":
          return { source, name: entry.name, op: "equals", value: entry.value };
        case "regex":
          return { source, name: entry.name, op: "regex", value: entry.value.pattern, regex: entry.value.regex };
      }
    });
}

const WHAT: Readonly<Record<MatchSource, string>> = { header: "header", cookie: "cookie", query: "query parameter" };

/** A whole match-* annotation: every entry must be valid, and there must be at least one. */
export function conditionListSchema(source: MatchSource): z.ZodType<MatchCondition[], string> {
  const entry = entrySchema(source);
  return z.string().transform((text, ctx) => {
    const entries = splitConditionEntries(text);
    if (entries.length === 0) {
      ctx.issues.push({
        code: "custom",
        message: `lists no condition; write ${WHAT[source]} conditions as Name=value, Name~regex or Name, separated by commas or newlines`,
        input: text,
      });
      return z.NEVER;
    }
    if (entries.length > MAX_CONDITIONS) {
      ctx.issues.push({ code: "custom", message: `lists ${entries.length} conditions; the limit is ${MAX_CONDITIONS}`, input: text });
      return z.NEVER;
    }
    const conditions: MatchCondition[] = [];
    for (const written of entries) {
      const result = entry.safeParse(tokenizeEntry(written));
      if (result.success) {
        conditions.push(result.data);
        continue;
      }
      for (const issue of result.error.issues) {
        ctx.issues.push({ code: "custom", message: `entry "${written}": ${issue.message}`, input: text });
      }
    }
    // A condition written twice is one condition (it must not count twice in precedence).
    const seen = new Set<string>();
    return conditions.filter((c) => {
      const key = JSON.stringify([c.source, c.name, c.op, c.value ?? null, c.regex?.source ?? null]);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  });
}
