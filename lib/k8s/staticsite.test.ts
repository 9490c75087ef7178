import { describe, expect, it } from "vitest";
import { statusMergePatch, type StaticSiteStatus } from "./staticsite";

describe("statusMergePatch", () => {
  it("names every status field: the ones left out as null, zeros and lists as they are", () => {
    const status: StaticSiteStatus = {
      observedGeneration: 3,
      conditions: [{ type: "Ready", status: "False", reason: "Suspended", message: "suspended", lastTransitionTime: "2026-05-01T10:00:00Z" }],
      replicas: 0,
      readyReplicas: 0,
    };
    expect(statusMergePatch(status)).toEqual({
      status: { ...status, url: null, currentDigest: null, shortDigest: null },
    });
  });
});
