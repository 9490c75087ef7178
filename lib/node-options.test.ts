import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DASHBOARD_NODE_OPTIONS, dashboardNodeOptions, OPERATOR_ENV, OPERATOR_NODE_OPTIONS } from "./node-options";

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

describe("operator V8 options", () => {
  it("are the ones the container image starts the operator with", () => {
    const entrypoint = readFileSync(new URL("../deploy/image/entrypoint.sh", import.meta.url), "utf8");
    expect(entrypoint).toContain(`exec node ${OPERATOR_NODE_OPTIONS} build/operator/main.cjs`);
    for (const [name, value] of Object.entries(OPERATOR_ENV)) expect(entrypoint).toContain(`export ${name}=${value}`);
  });
});
