import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DASHBOARD_NODE_OPTIONS, dashboardNodeOptions } from "./node-options";

describe("dashboard V8 options", () => {
  it("puts ours before the caller's, so the caller's win", () => {
    expect(dashboardNodeOptions(undefined)).toBe(DASHBOARD_NODE_OPTIONS);
    expect(dashboardNodeOptions("--max-semi-space-size=4")).toBe(`${DASHBOARD_NODE_OPTIONS} --max-semi-space-size=4`);
  });

  it("are the ones the container image sets", () => {
    const dockerfile = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8");
    expect(dockerfile).toContain(`NODE_OPTIONS="${DASHBOARD_NODE_OPTIONS}"`);
  });
});
