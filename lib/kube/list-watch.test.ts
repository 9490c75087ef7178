import { describe, expect, it } from "vitest";
import { backoffDelay, isGone } from "./list-watch";

describe("backoffDelay", () => {
  const mid = () => 0.5; // no jitter
  it("doubles from the base and stops at the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 500, 30_000, mid))).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000]);
    expect(backoffDelay(1000, 500, 30_000, mid)).toBe(30_000);
  });

  it("spreads retries by ±20 % but never beyond the cap", () => {
    expect(backoffDelay(1, 1000, 30_000, () => 0)).toBe(800);
    expect(backoffDelay(1, 1000, 30_000, () => 1)).toBe(1200);
    expect(backoffDelay(10, 1000, 30_000, () => 1)).toBe(30_000);
  });
});

describe("isGone", () => {
  it("recognises 410 as an HTTP error and as a watch ERROR status", () => {
    expect(isGone(Object.assign(new Error("Gone"), { statusCode: 410 }))).toBe(true);
    expect(isGone({ kind: "Status", code: 410, reason: "Expired" })).toBe(true);
    expect(isGone({ kind: "Status", code: 500 })).toBe(false);
    expect(isGone(new Error("ECONNREFUSED"))).toBe(false);
    expect(isGone(undefined)).toBe(false);
  });
});
