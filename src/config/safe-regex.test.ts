// Which regular expressions turnout accepts in match annotations, and that the
// accepted ones are compiled anchored with the `u` flag.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_REGEX_LENGTH, compileSafeRegex } from "./safe-regex.ts";

const accepted: string[] = [
  "abc",
  "canary|canary-v2",
  "(alpha|beta|gamma)",
  ".*foo.*",
  "[a-z0-9-]+\\.example\\.com",
  "v[0-9]+\\.[0-9]+\\.[0-9]+",
  ".*(iPhone|iPad).*",
  "(a|b)+",
  "(\\d|-)+",
  "(a{2})+",
  "(?:ab)*c",
  "(?<team>red|blue)-[0-9]{1,4}",
  "\\p{L}+",
  "[^]*",
  "\\w+\\s?\\w+",
  ".*x[0-9]+.*",
  "(https?://)?example\\.com",
  "\\u{1F600}|\\uD83D\\uDE01",
  "a{1000}",
  "^abc$",
  "",
  "a".repeat(MAX_REGEX_LENGTH),
];

/** [pattern, the reason must match] */
const rejected: [string, RegExp][] = [
  ["(a+)+", /^nests the quantifier a\+ inside the repeated \(a\+\)\+/],
  ["(a*)*", /^nests the quantifier a\* inside the repeated \(a\*\)\*/],
  ["(.*a){10}", /^nests the quantifier \.\* inside the repeated \(\.\*a\)\{10\}/],
  ["(x+x+)+y", /^nests the quantifier x\+/],
  ["(-[a-z]+)+", /^nests the quantifier \[a-z\]\+/],
  ["(\\w+\\s?)+$", /^nests the quantifier/],
  ["(a?){20}a{20}", /^nests the quantifier a\?/],
  ["(a|aa)+", /^repeats \(a\|aa\)\+, whose alternation \(a\|aa\) has branches that can start with the same character/],
  ["(a|a)*", /^repeats \(a\|a\)\*/],
  ["(ab|ac){2,}", /^repeats \(ab\|ac\)\{2,\}/],
  ["(a|)+", /^repeats \(a\|\)\+.*match empty text/],
  ["(\\uD83D\\uDE00|😀)+", /^repeats .* same character/],
  ["(\\b)+", /^repeats \(\\b\)\+, whose body can match empty text/],
  [".*a.*a.*", /^has more than 2 quantifiers in a row that can match the same text \(\.\*, \.\*, \.\*\), which can take polynomial time$/],
  ["\\d+\\d+\\d+", /^has more than 2 quantifiers in a row .*\(\\d\+, \\d\+, \\d\+\)/],
  ["a?a?a?a?aaaa", /^has more than 2 quantifiers in a row .*\(a\?, a\?, a\?\)/],
  ["a*b?a*c?a*", /^has more than 2 quantifiers in a row .*\(a\*, a\*, a\*\)/],
  ["(x.*|y).*.*", /^has more than 2 quantifiers in a row .*\(\(x\.\*\|y\), \.\*, \.\*\)/],
  ["(a|aa)(a|aa)(a|aa)(a|aa)(a|aa)(a|aa)(a|aa)", /^has alternations whose branches can start with the same character, 128 combinations/],
  ["(a)\\1", /^uses a backreference \(\\1\)/],
  ["(?<n>a)\\k<n>", /^uses a backreference \(\\k<name>\)/],
  ["(?=a)a", /^uses lookahead or lookbehind/],
  ["a(?!b)", /^uses lookahead or lookbehind/],
  ["(?<=a)b", /^uses lookahead or lookbehind/],
  ["(?<!a)b", /^uses lookahead or lookbehind/],
  ["(?i:a)", /^uses a group form other than/],
  ["a{1001}", /^uses a repetition count above 1000 \(\{1001\}\)/],
  ["(", /^is not a valid regular expression \(Unterminated group\)$/],
  ["[", /^is not a valid regular expression \(Unterminated character class\)$/],
  ["a)|(b", /^is not a valid regular expression/],
  ["\\q", /^is not a valid regular expression/],
  ["a{2", /^is not a valid regular expression/],
  ["a".repeat(MAX_REGEX_LENGTH + 1), /^is 257 characters long; the limit is 256$/],
];

void describe("compileSafeRegex", () => {
  for (const pattern of accepted) {
    void it(`accepts ${JSON.stringify(pattern.length > 40 ? `${pattern.slice(0, 40)}…` : pattern)}`, () => {
      const result = compileSafeRegex(pattern);
      assert.ok(result.ok, result.ok ? "" : result.reason);
      assert.equal(result.regex.source, new RegExp(`^(?:${pattern})$`, "u").source);
      assert.equal(result.regex.flags, "u");
    });
  }

  for (const [pattern, reason] of rejected) {
    void it(`rejects ${JSON.stringify(pattern.length > 40 ? `${pattern.slice(0, 40)}…` : pattern)}`, () => {
      const result = compileSafeRegex(pattern);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.reason, reason);
    });
  }

  void it("matches the whole value, not a substring", () => {
    const result = compileSafeRegex("abc");
    assert.ok(result.ok);
    assert.equal(result.regex.test("abc"), true);
    assert.equal(result.regex.test("xabc"), false);
    assert.equal(result.regex.test("abcx"), false);
  });

  void it("anchors every branch of a top-level alternation", () => {
    const result = compileSafeRegex("a|b");
    assert.ok(result.ok);
    assert.equal(result.regex.test("a"), true);
    assert.equal(result.regex.test("ab"), false);
    assert.equal(result.regex.test("xb"), false);
  });

  void it("counts the length in code points, not UTF-16 units", () => {
    assert.ok(compileSafeRegex("😀".repeat(MAX_REGEX_LENGTH)).ok);
  });

  void it("uses Unicode semantics: . matches one astral character", () => {
    const result = compileSafeRegex("a.b");
    assert.ok(result.ok);
    assert.equal(result.regex.test("a😀b"), true);
  });

  void it("finishes quickly on hostile input for accepted patterns that look risky", () => {
    // With the rejected patterns, inputs like these take seconds to centuries;
    // the accepted ones answer at once. No timing assertion: finishing is the proof.
    const cases: [string, string][] = [
      ["(a|b)+c", "ab".repeat(5_000)],
      ["(a{2})+", "a".repeat(10_001)],
      ["[a-z]+-[0-9]+", `${"a".repeat(10_000)}-x`],
      [".*(iPhone|iPad).*", `${"iPa".repeat(1_000)}\n`],
      ["\\w+\\s?\\w+", `${"a".repeat(2_000)}!`],
    ];
    for (const [pattern, input] of cases) {
      const result = compileSafeRegex(pattern);
      assert.ok(result.ok, pattern);
      assert.equal(result.regex.test(input), false, pattern);
    }
  });
});
