// Keeps docs/annotations.md and the parser in step: the reference table lists
// exactly the known annotations, and every YAML example parses without problems.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ANNOTATION_NAMES } from "./annotation-schemas.ts";
import { ANNOTATION_PREFIX, formatAnnotationProblem, parseIngressAnnotations } from "./annotations.ts";

const docs = readFileSync(new URL("../../docs/annotations.md", import.meta.url), "utf8");

function referenceRows(): string[] {
  const table = docs.slice(docs.indexOf("## Reference"), docs.indexOf("## Route groups"));
  return [...table.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((match) => match[1] ?? "");
}

/** The turnout.dev annotations of each ```yaml block (plain, quoted and `|` values). */
function yamlExamples(): Record<string, string>[] {
  const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
  return blocks
    .map((block) => {
      const lines = block.split("\n");
      const annotations: Record<string, string> = {};
      lines.forEach((line, index) => {
        const match = /^(\s*)turnout\.dev\/([a-z0-9-]+): (.*)$/.exec(line);
        if (match === null) return;
        const [, indent = "", name = "", raw = ""] = match;
        let value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
        if (raw === "|") {
          const body = lines.slice(index + 1);
          const end = body.findIndex((next) => next.trim() !== "" && next.search(/\S/) <= indent.length);
          value = `${(end < 0 ? body : body.slice(0, end)).map((next) => next.trim()).join("\n")}\n`;
        }
        annotations[ANNOTATION_PREFIX + name] = value;
      });
      return annotations;
    })
    .filter((annotations) => Object.keys(annotations).length > 0);
}

void describe("docs/annotations.md", () => {
  void it("lists every known annotation in the reference table, in parser order", () => {
    assert.deepEqual(referenceRows(), ANNOTATION_NAMES);
  });

  void it("has YAML examples that parse without errors or warnings", () => {
    const examples = yamlExamples();
    assert.ok(examples.length >= 6, `found only ${examples.length} examples`);
    for (const annotations of examples) {
      const result = parseIngressAnnotations(annotations);
      const problems = result.ok ? result.warnings : [...result.errors, ...result.warnings];
      assert.deepEqual(problems.map(formatAnnotationProblem), [], JSON.stringify(annotations));
    }
  });
});
