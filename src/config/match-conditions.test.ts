// The match-* value syntax: how entries are split, what each entry becomes, and
// the message for each kind of mistake.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MatchCondition, MatchSource } from "../routing/route-table.ts";
import { MAX_CONDITIONS, conditionListSchema, splitConditionEntries } from "./match-conditions.ts";

void describe("splitConditionEntries", () => {
  const cases: [string, string[]][] = [
    ["a=1,b=2", ["a=1", "b=2"]],
    ["a=1\nb=2\n", ["a=1", "b=2"]],
    ["a=1\r\nb=2\r\n", ["a=1", "b=2"]],
    [" a=1 , ,b ,", ["a=1", "b"]],
    ["", []],
    [" ,\n, ", []],
    ["X~[0-9]{1,3},Y", ["X~[0-9]{1,3}", "Y"]],
    ["X~(a|b,c),Y=1", ["X~(a|b,c)", "Y=1"]],
    ["X~[,]+,Y", ["X~[,]+", "Y"]],
    ["X~[\\],]x,Y", ["X~[\\],]x", "Y"]],
    ["X~a\\,b,Y", ["X~a\\,b", "Y"]],
    ["X~a{1,\nY", ["X~a{1,", "Y"]],
    ["X=a~b,Y~c,d", ["X=a~b", "Y~c", "d"]],
    ["X=(a,b)", ["X=(a", "b)"]],
  ];
  for (const [text, entries] of cases) {
    void it(`splits ${JSON.stringify(text)}`, () => {
      assert.deepEqual(splitConditionEntries(text), entries);
    });
  }
});

function parse(source: MatchSource, text: string): MatchCondition[] {
  return conditionListSchema(source).parse(text);
}

function messages(source: MatchSource, text: string): string[] {
  const result = conditionListSchema(source).safeParse(text);
  assert.equal(result.success, false, `expected ${JSON.stringify(text)} to be rejected`);
  return result.error?.issues.map((issue) => issue.message) ?? [];
}

/** Conditions without the compiled RegExp, for exact comparison. */
function plain(conditions: MatchCondition[]): Omit<MatchCondition, "regex">[] {
  return conditions.map(({ regex: _regex, ...rest }) => rest);
}

void describe("conditionListSchema", () => {
  void it("parses equals, regex and presence header conditions, lower-casing names", () => {
    const conditions = parse("header", "X-Canary=always, X-Version~v[0-9]+\nX-Debug");
    assert.deepEqual(plain(conditions), [
      { source: "header", name: "x-canary", op: "equals", value: "always" },
      { source: "header", name: "x-version", op: "regex", value: "v[0-9]+" },
      { source: "header", name: "x-debug", op: "present" },
    ]);
    assert.equal(conditions[0]?.regex, undefined);
    assert.equal(conditions[1]?.regex?.source, "^(?:v[0-9]+)$");
    assert.equal(conditions[1]?.regex?.flags, "u");
  });

  void it("keeps cookie and query names as written", () => {
    assert.deepEqual(plain(parse("cookie", "Group=B")), [{ source: "cookie", name: "Group", op: "equals", value: "B" }]);
    assert.deepEqual(plain(parse("query", "Variant~a|b, debug")), [
      { source: "query", name: "Variant", op: "regex", value: "a|b" },
      { source: "query", name: "debug", op: "present" },
    ]);
  });

  void it("splits at the first = or ~, so values may contain them", () => {
    assert.deepEqual(plain(parse("header", "X-A=b=c~d, X-B~a=b")), [
      { source: "header", name: "x-a", op: "equals", value: "b=c~d" },
      { source: "header", name: "x-b", op: "regex", value: "a=b" },
    ]);
  });

  void it("accepts an empty equals value: the header is present and empty", () => {
    assert.deepEqual(plain(parse("header", "X-Empty=")), [{ source: "header", name: "x-empty", op: "equals", value: "" }]);
  });

  void it("keeps commas that belong to a regex", () => {
    const [condition] = parse("header", "X-Id~[0-9]{1,3}");
    assert.equal(condition?.value, "[0-9]{1,3}");
    assert.equal(condition?.regex?.test("123"), true);
    assert.equal(condition?.regex?.test("1234"), false);
  });

  void it("reads an escaped comma in a regex as a literal comma, and leaves other escapes alone", () => {
    const [comma, other] = parse("header", "X-Pair~a\\,b, X-Dot~a\\.b");
    assert.equal(comma?.value, "a,b");
    assert.equal(comma?.regex?.test("a,b"), true);
    assert.equal(other?.regex?.test("a.b"), true);
    assert.equal(other?.regex?.test("axb"), false);
  });

  void it("keeps whitespace inside query values", () => {
    assert.deepEqual(plain(parse("query", "q= a b")), [{ source: "query", name: "q", op: "equals", value: " a b" }]);
  });

  const invalid: [MatchSource, string, string[]][] = [
    ["header", "", ["lists no condition; write header conditions as Name=value, Name~regex or Name, separated by commas or newlines"]],
    ["query", ", ,\n", ["lists no condition; write query parameter conditions as Name=value, Name~regex or Name, separated by commas or newlines"]],
    ["header", "=x", ['entry "=x": header name is empty']],
    ["header", "X Y=1", [`entry "X Y=1": header name must consist of letters, digits and !#$%&'*+-.^_\`|~`]],
    ["header", "X-A(1)", [`entry "X-A(1)": header name must consist of letters, digits and !#$%&'*+-.^_\`|~`]],
    ["header", "X-A=  b", ['entry "X-A=  b": value must not start or end with whitespace (HTTP strips it from header values, so this could never match)']],
    ["header", "X-A=\u0001", ['entry "X-A=\u0001": value must not contain control characters']],
    ["cookie", "a b=1", [`entry "a b=1": cookie name must consist of letters, digits and !#$%&'*+-.^_\`|~`]],
    ["cookie", "a=b;c", ['entry "a=b;c": cookie value must not contain ;']],
    ["query", "a&b=1", ['entry "a&b=1": query parameter name must not contain whitespace, control characters or & = # , ~']],
    ["header", "X-A~", ['entry "X-A~": regular expression is empty (write Name= to match an empty value, or Name alone to match any value)']],
    ["header", "X-A~(a+)+", ['entry "X-A~(a+)+": regular expression nests the quantifier a+ inside the repeated (a+)+, which can backtrack catastrophically']],
    ["header", "X-A~(a|aa)+", ['entry "X-A~(a|aa)+": regular expression repeats (a|aa)+, whose alternation (a|aa) has branches that can start with the same character or match empty text, which can backtrack catastrophically']],
    ["header", "X-A~(", ['entry "X-A~(": regular expression is not a valid regular expression (Unterminated group)']],
    ["header", "X-A~(a)\\1", ['entry "X-A~(a)\\1": regular expression uses a backreference (\\1), which is not allowed']],
    [
      "header",
      "X Y=1, ok=1, Z~(?=a), =",
      [
        `entry "X Y=1": header name must consist of letters, digits and !#$%&'*+-.^_\`|~`,
        'entry "Z~(?=a)": regular expression uses lookahead or lookbehind ((?=, (?!, (?<=, (?<!), which is not allowed',
        'entry "=": header name is empty',
      ],
    ],
    ["header", Array.from({ length: MAX_CONDITIONS + 1 }, (_, i) => `X-${i}`).join(","), ["lists 33 conditions; the limit is 32"]],
  ];
  for (const [source, text, expected] of invalid) {
    void it(`rejects ${source} ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`, () => {
      assert.deepEqual(messages(source, text), expected);
    });
  }

  void it("accepts exactly the limit of conditions", () => {
    const text = Array.from({ length: MAX_CONDITIONS }, (_, i) => `X-${i}`).join(",");
    assert.equal(parse("header", text).length, MAX_CONDITIONS);
  });
});
