import { describe, expect, it } from "vitest";
import { displayNameSchema } from "@/lib/validation";

/** Names are stored and shown to other members: no character in them may change how the text around them reads. */
describe("display names", () => {
  it.each([
    ["NUL", "Al\u0000ice"],
    ["a C1 control", "Al\u0085ice"],
    ["a right-to-left override", "Alice\u202egnp.exe"],
    ["a bidi isolate", "\u2066Alice"],
    ["a lone high surrogate", "Alice\ud800"],
    ["a lone low surrogate", "\udc00Alice"],
  ])("refuses %s", (_label, name) => {
    const result = displayNameSchema.safeParse(name);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/control characters/);
  });

  it.each(["Zoë", "李小龍", "Ada 🚀", "محمد", "שלום"])("accepts %j", (name) => {
    expect(displayNameSchema.parse(name)).toBe(name);
  });
});
