import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { deployUploadQuerySchema } from "@/lib/validation";

const parse = (message: string | null) => deployUploadQuerySchema.parse({ message }).message;

function refusal(message: string): string {
  try {
    parse(message);
  } catch (error) {
    if (error instanceof ZodError) return error.issues[0]!.message;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(message)}`);
}

describe("a deploy's message", () => {
  it("is optional: absent or blank is none", () => {
    expect(parse(null)).toBeNull();
    expect(parse("")).toBeNull();
    expect(parse("   ")).toBeNull();
  });

  it("keeps one line of text, trimmed, up to 500 characters counted as people count them", () => {
    expect(parse("  Fix the footer · ünïcode ✓ ")).toBe("Fix the footer · ünïcode ✓");
    expect(parse("x".repeat(500))).toHaveLength(500);
    // 500 astral characters are 1,000 UTF-16 units and still fit the column.
    expect([...parse("🚀".repeat(500))!]).toHaveLength(500);
  });

  it.each([
    ["a newline", "first line\nsecond line"],
    ["a carriage return", "release\r"],
    ["a tab", "a\tb"],
    ["a NUL", "a\u0000b"],
    ["an escape sequence", "\u001b[31mred"],
    ["a text-direction override", "safe\u202Eexe.txt"],
    ["a lone surrogate", "broken \ud800"],
  ])("refuses %s", (_label, message) => {
    expect(refusal(message)).toMatch(/^A deploy message must be one line/);
  });

  it("refuses 501 characters, naming the limit", () => {
    expect(refusal("x".repeat(501))).toBe("A deploy message can be at most 500 characters.");
  });
});
