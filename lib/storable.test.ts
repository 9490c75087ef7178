import { describe, expect, it } from "vitest";
import { JSON_STRING_MAX, storableJson, storableText, storableTextOrNull } from "@/lib/storable";

// With the u flag, a surrogate class matches only unpaired halves.
const wellFormed = (s: string) => !/[\ud800-\udfff]/u.test(s);

describe("storableText", () => {
  it("keeps ordinary text, accents and astral characters as they are", () => {
    for (const s of ["index.html", "café/naïve.html", "日本語.txt", "emoji-😀.png", "ada@example.com", ""]) {
      expect(storableText(s, 100)).toBe(s);
    }
  });

  it("shows NUL and other C0 controls as their Control Pictures", () => {
    expect(storableText("ok.html\u0000.php", 100)).toBe("ok.html\u2400.php");
    expect(storableText("a\nb\rc\td\u001b[31m", 100)).toBe("a\u240ab\u240dc\u2409d\u241b[31m");
    expect(storableText("del\u007f", 100)).toBe("del\u2421");
  });

  it("replaces C1 controls, bidi overrides and isolates with U+FFFD", () => {
    expect(storableText("x\u0085y\u009bz", 100)).toBe("x\ufffdy\ufffdz");
    expect(storableText("invoice\u202egnp.exe", 100)).toBe("invoice\ufffdgnp.exe");
    expect(storableText("\u2066a\u2069", 100)).toBe("\ufffda\ufffd");
  });

  it("replaces lone surrogates but keeps well-formed pairs", () => {
    expect(storableText("a\ud800b", 100)).toBe("a\ufffdb");
    expect(storableText("a\udc00", 100)).toBe("a\ufffd");
    expect(storableText("\ud83d\ude00\ud83d", 100)).toBe("\ud83d\ude00\ufffd");
    expect(storableText("x\ud800\udc00y", 100)).toSatisfy(wellFormed);
  });

  it("cuts long text at a code-point boundary with a marker, within the limit", () => {
    expect(storableText("abcdef", 6)).toBe("abcdef");
    expect(storableText("abcdefg", 6)).toBe("abcde…");
    const astral = "😀".repeat(10);
    const cut = storableText(astral, 4);
    expect(Array.from(cut)).toHaveLength(4);
    expect(cut).toBe("😀😀😀…");
    expect(cut).toSatisfy(wellFormed);
  });

  it("counts characters after replacement, as Postgres will", () => {
    expect(Array.from(storableText("\u0000".repeat(500), 320))).toHaveLength(320);
  });

  it("refuses a nonsensical limit (a bug of ours, not of the input)", () => {
    expect(() => storableText("x", 0)).toThrow(RangeError);
  });

  it("keeps null as null for optional columns", () => {
    expect(storableTextOrNull(null, 10)).toBeNull();
    expect(storableTextOrNull(undefined, 10)).toBeNull();
    expect(storableTextOrNull("a\u0000", 10)).toBe("a\u2400");
  });
});

describe("storableJson", () => {
  it("cleans every string, keys included, at any depth", () => {
    const out = storableJson({ code: "bad_name", entry: "ok.html\u0000.php", nested: [{ "k\u0000": "\ud800" }] });
    expect(out).toEqual({ code: "bad_name", entry: "ok.html\u2400.php", nested: [{ "k\u2400": "\ufffd" }] });
    expect(JSON.stringify(out)).not.toMatch(/\\u0000|\\ud[89ab]/i);
  });

  it("keeps numbers, booleans and null; makes non-finite numbers null and bigints strings", () => {
    expect(storableJson({ a: 1, b: true, c: null, d: Number.NaN, e: Infinity, f: 10n })).toEqual({ a: 1, b: true, c: null, d: null, e: null, f: "10" });
  });

  it("drops what JSON cannot hold and uses toJSON like JSON.stringify", () => {
    expect(storableJson({ a: undefined, b: () => 1, c: Symbol("x"), d: new Date(0) })).toEqual({ d: "1970-01-01T00:00:00.000Z" });
  });

  it("bounds long strings, wide objects and deep nesting", () => {
    const long = storableJson("x".repeat(JSON_STRING_MAX * 3)) as string;
    expect(long).toHaveLength(JSON_STRING_MAX);
    const wide = storableJson(Array.from({ length: 1000 }, (_, i) => i)) as unknown[];
    expect(wide.length).toBeLessThan(100);
    expect(wide.at(-1)).toBe("…");
    let deep: unknown = "bottom";
    for (let i = 0; i < 50; i++) deep = [deep];
    expect(JSON.stringify(storableJson(deep)).length).toBeLessThan(100);
    const many = storableJson(Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]))) as Record<string, unknown>;
    expect(Object.keys(many).length).toBeLessThan(100);
  });
});
