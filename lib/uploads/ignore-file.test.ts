import { describe, expect, it } from "vitest";
import { IGNORE_FILE, parseIgnoreRules } from "./ignore-file";

describe("parseIgnoreRules", () => {
  const rules = parseIgnoreRules("# drafts stay home\ndrafts/\n*.md\n!keep.md\n/secret.txt\nbuild/**/*.map\n");

  it("reads gitignore syntax: folders, globs, negation, anchoring", () => {
    expect(rules.ignores("drafts", true)).toBe(true);
    expect(rules.ignores("docs/drafts", true)).toBe(true);
    expect(rules.ignores("drafts", false)).toBe(false);
    expect(rules.ignores("notes.md", false)).toBe(true);
    expect(rules.ignores("a/b/notes.md", false)).toBe(true);
    expect(rules.ignores("keep.md", false)).toBe(false);
    expect(rules.ignores("secret.txt", false)).toBe(true);
    expect(rules.ignores("nested/secret.txt", false)).toBe(false);
    expect(rules.ignores("build/js/app.js.map", false)).toBe(true);
    expect(rules.ignores("build/js/app.js", false)).toBe(false);
    expect(rules.ignores("index.html", false)).toBe(false);
  });

  it("always leaves out the ignore file at the top, and only there", () => {
    expect(parseIgnoreRules(null).ignores(IGNORE_FILE, false)).toBe(true);
    expect(parseIgnoreRules("").ignores(IGNORE_FILE, false)).toBe(true);
    expect(parseIgnoreRules(null).ignores(`sub/${IGNORE_FILE}`, false)).toBe(false);
    expect(parseIgnoreRules(null).ignores("index.html", false)).toBe(false);
  });
});
