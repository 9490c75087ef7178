import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff";

describe("backoffDelay", () => {
  const mid = () => 0.5; // no jitter
  const policy = { baseMs: 500, maxMs: 30_000 };

  it("doubles from the base and stops at the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, policy, mid))).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000]);
    expect(backoffDelay(1000, policy, mid)).toBe(30_000);
  });

  it("spreads retries by ±20 % but never beyond the cap", () => {
    const wide = { baseMs: 1000, maxMs: 30_000 };
    expect(backoffDelay(1, wide, () => 0)).toBe(800);
    expect(backoffDelay(1, wide, () => 1)).toBe(1200);
    expect(backoffDelay(10, wide, () => 1)).toBe(30_000);
  });

  it("gives exact delays without jitter, and the base delay for a first or nonsensical count", () => {
    const exact = { baseMs: 100, maxMs: 1_000, jitter: 0 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, exact, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffDelay(0, exact)).toBe(100);
    expect(backoffDelay(-3, exact)).toBe(100);
  });
});
