import { describe, expect, it } from "vitest";
import { createSiteSchema, emailSchema, passwordProblem, signUpSchema, siteNameSchema, fieldErrors } from "@/lib/validation";

describe("site names", () => {
  it.each(["a", "blog", "my-site-2", "zero-day", "a".repeat(40)])("accepts %j", (name) => {
    expect(siteNameSchema.parse(name)).toBe(name);
  });

  it.each([
    ["", "Enter a site name."],
    ["a".repeat(41), "at most 40 characters"],
    ["My-Site", "lower-case letters"],
    ["-start", "must start with a letter"],
    ["0day", "must start with a letter"],
    ["end-", "must end with a letter or digit"],
    ["two--dashes", "two dashes"],
    ["dots.are.bad", "lower-case letters"],
    ["under_score", "lower-case letters"],
    ["www", "reserved"],
    ["api", "reserved"],
    ["émoji", "lower-case letters"],
  ])("refuses %j with a message about it", (name, message) => {
    const result = createSiteSchema.safeParse({ name });
    expect(result.success).toBe(false);
    expect(fieldErrors(result.error!).name).toContain(message);
  });
});

describe("emails", () => {
  it("lower-cases and trims", () => {
    expect(emailSchema.parse("  Alice@Example.COM ")).toBe("alice@example.com");
  });

  it.each([["not-an-email"], ["a@b"], ["@example.com"], [`${"a".repeat(250)}@example.com`]])("refuses %j", (email) => {
    expect(emailSchema.safeParse(email).success).toBe(false);
  });
});

describe("passwords", () => {
  it("accepts a long, varied password", () => {
    expect(passwordProblem("correct horse battery staple", "alice@example.com")).toBeNull();
  });

  it.each([
    ["short", "at least 10"],
    ["x".repeat(129), "at most 128"],
    ["password123", "too common"],
    ["ababababababab", "too repetitive"],
    ["alice-is-the-best-2026", "must not contain your email"],
  ])("refuses %j", (password, message) => {
    expect(passwordProblem(password, "alice@example.com")).toContain(message);
  });

  it("reports password problems on the password field of sign-up", () => {
    const result = signUpSchema.safeParse({ name: "Alice", email: "alice@example.com", password: "short" });
    expect(result.success).toBe(false);
    expect(Object.keys(fieldErrors(result.error!))).toEqual(["password"]);
  });

  it("refuses names with control characters and over-long names", () => {
    const control = signUpSchema.safeParse({ name: "Al\u0007ice", email: "a@example.com", password: "a long enough passphrase" });
    expect(fieldErrors(control.error!).name).toContain("control characters");
    const long = signUpSchema.safeParse({ name: "x".repeat(81), email: "a@example.com", password: "a long enough passphrase" });
    expect(fieldErrors(long.error!).name).toContain("at most 80");
  });
});
