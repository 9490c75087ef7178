import { describe, expect, it } from "vitest";
import { samePlace } from "./api";

describe("samePlace (the Location of a preview's 307)", () => {
  it("is the same path and query", () => {
    expect(samePlace("/about/?from=review&x=%2F")).toBe("/about/?from=review&x=%2F");
    expect(samePlace("/")).toBe("/");
  });

  it("never names another host: leading slashes merge as nginx merges them", () => {
    expect(samePlace("//evil.example/x?y=1")).toBe("/evil.example/x?y=1");
    expect(samePlace("///evil.example")).toBe("/evil.example");
    expect(samePlace("http://evil.example/")).toBe("/");
    expect(samePlace(undefined)).toBe("/");
  });
});
