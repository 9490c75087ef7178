import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { needsApply, withAppliedHash } from "./child-drift";
import { appliedState, statusEchoVersion } from "./reconcile";

const applied = withAppliedHash<V1Deployment>({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "blog", namespace: "acme", labels: { app: "blog" } },
  spec: { replicas: 2, selector: { matchLabels: { app: "blog" } }, template: { metadata: { labels: { app: "blog" } } } },
});

const answer = {
  apiVersion: "meta.k8s.io/v1",
  kind: "PartialObjectMetadata",
  metadata: {
    ...applied.metadata,
    labels: { app: "blog", "someone.else/label": "x" },
    resourceVersion: "42",
    generation: 3,
    managedFields: [{ manager: "pagoda-operator", operation: "Apply" }],
  },
};

describe("appliedState", () => {
  it("is what was applied, with the answer's metadata less managedFields and the status the cache last saw", () => {
    const cached: V1Deployment = {
      ...applied,
      metadata: { ...applied.metadata, resourceVersion: "41", generation: 2 },
      status: { observedGeneration: 2, replicas: 2 },
    };
    const kept = appliedState(applied, answer, cached);
    expect(kept.kind).toBe("Deployment");
    expect(kept.spec).toBe(applied.spec);
    expect(kept.metadata).toEqual({ ...answer.metadata, managedFields: undefined });
    expect(kept.metadata).not.toHaveProperty("managedFields");
    expect(kept.status).toEqual({ observedGeneration: 2, replicas: 2 });
    // The drift check finds nothing left to apply in it.
    expect(needsApply(applied, kept)).toBe(false);
  });

  it("has no status for an object the cache has not seen yet", () => {
    expect(appliedState(applied, answer, undefined)).not.toHaveProperty("status");
  });
});

describe("statusEchoVersion", () => {
  const site = { metadata: { name: "blog", namespace: "acme", generation: 4 } };

  it("takes the answer of a status write for our echo while the spec is the one the reconcile read", () => {
    expect(statusEchoVersion(site)({ resourceVersion: "90", generation: 4 })).toBe("90");
  });

  it("does not when the spec changed meanwhile: a relist can bring that change inside our write's version", () => {
    expect(statusEchoVersion(site)({ resourceVersion: "91", generation: 5 })).toBeUndefined();
  });

  it("does not without a generation to compare", () => {
    expect(statusEchoVersion(site)({ resourceVersion: "92" })).toBeUndefined();
  });
});
