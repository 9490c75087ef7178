import { describe, expect, it } from "vitest";
import type { StaticSite, StaticSiteCondition, StaticSiteStatus } from "@/lib/staticsite/types";
import { sitePhase } from "./site-phase";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const T = "2026-11-21T10:00:00Z";

function cond(type: StaticSiteCondition["type"], status: StaticSiteCondition["status"], reason: string, message: string, gen = 2): StaticSiteCondition {
  return { type, status, reason, message, observedGeneration: gen, lastTransitionTime: T };
}

function site(opts: { digest?: string; generation?: number; suspend?: boolean; status?: StaticSiteStatus } = {}): StaticSite {
  return {
    apiVersion: "pagoda.dev/v1alpha1",
    kind: "StaticSite",
    metadata: { name: "blog", namespace: "pagoda-acme", generation: opts.generation ?? 2, resourceVersion: "100" },
    spec: {
      artifact: { url: "https://dash.example.com/a", digest: opts.digest ?? B },
      hosts: ["blog-acme.example.com"],
      replicas: 2,
      ...(opts.suspend ? { suspend: true } : {}),
    },
    ...(opts.status ? { status: opts.status } : {}),
  };
}

// The operator's status while B rolls out and A still serves (see operator/status.ts).
const rollingOut: StaticSiteStatus = {
  observedGeneration: 2,
  conditions: [
    cond("Ready", "False", "RollingOut", "1 of 2 replicas updated to sha256:bbbbbbbbbbbb, 2 available; sha256:aaaaaaaaaaaa keeps serving meanwhile"),
    cond("Progressing", "True", "RollingOut", "Rolling out sha256:bbbbbbbbbbbb: 1 of 2 replicas updated to sha256:bbbbbbbbbbbb, 2 available"),
    cond("Degraded", "False", "AsExpected", "No problems found"),
  ],
  replicas: 3,
  readyReplicas: 2,
  url: "https://blog-acme.example.com",
  currentDigest: A,
  shortDigest: "aaaaaaaaaaaa",
};

const live: StaticSiteStatus = {
  observedGeneration: 2,
  conditions: [
    cond("Ready", "True", "Available", "2 of 2 replicas serving sha256:bbbbbbbbbbbb"),
    cond("Progressing", "False", "RolloutComplete", "sha256:bbbbbbbbbbbb is rolled out"),
    cond("Degraded", "False", "AsExpected", "No problems found"),
  ],
  replicas: 2,
  readyReplicas: 2,
  url: "https://blog-acme.example.com",
  currentDigest: B,
  shortDigest: "bbbbbbbbbbbb",
};

const fetchFailed: StaticSiteStatus = {
  observedGeneration: 2,
  conditions: [
    cond("Ready", "False", "ArtifactFetchFailed", "Fetching the artifact failed: digest mismatch: expected bbbb…, got cccc…; retrying with backoff"),
    cond("Progressing", "True", "RollingOut", "Rolling out sha256:bbbbbbbbbbbb: 0 of 2 replicas updated to sha256:bbbbbbbbbbbb, 0 available"),
    cond("Degraded", "True", "ArtifactFetchFailed", "Fetching the artifact failed: digest mismatch: expected bbbb…, got cccc…; retrying with backoff"),
  ],
  replicas: 1,
  readyReplicas: 0,
  url: "https://blog-acme.example.com",
};

describe("sitePhase", () => {
  it("is Offline without a StaticSite", () => {
    expect(sitePhase(null, B)).toEqual({
      phase: "Offline",
      reason: "NotDeployed",
      message: expect.any(String),
      readyReplicas: 0,
      replicas: 0,
      currentDigest: null,
      url: null,
    });
  });

  it("is Offline when suspended, even if the digest is rolled out", () => {
    const p = sitePhase(site({ suspend: true, status: live }), B);
    expect(p).toMatchObject({ phase: "Offline", reason: "Suspended" });
  });

  it("is Offline when no deploy is promoted", () => {
    expect(sitePhase(site({ status: live }), null)).toMatchObject({ phase: "Offline", reason: "NoPromotedDeploy" });
  });

  it("is Pending before the operator wrote any status", () => {
    expect(sitePhase(site(), B)).toMatchObject({ phase: "Pending", reason: "NotObserved", currentDigest: null });
  });

  it("is Pending while the spec still names another digest", () => {
    expect(sitePhase(site({ digest: A, generation: 1, status: { ...live, currentDigest: A, observedGeneration: 1 } }), B)).toMatchObject({
      phase: "Pending",
      reason: "SpecNotUpdated",
      currentDigest: A,
    });
  });

  it("is Pending, not Live, while the status is of an older generation", () => {
    // Generation 3 (say, a host change) is not observed yet; the old status claims Ready for B.
    const p = sitePhase(site({ generation: 3, status: live }), B);
    expect(p).toMatchObject({ phase: "Pending", reason: "NotObserved", currentDigest: B, readyReplicas: 2 });
  });

  it("is Deploying with the operator's message while rolling out, and reports the digest still serving", () => {
    const p = sitePhase(site({ status: rollingOut }), B);
    expect(p).toEqual({
      phase: "Deploying",
      reason: "RollingOut",
      message: "Rolling out sha256:bbbbbbbbbbbb: 1 of 2 replicas updated to sha256:bbbbbbbbbbbb, 2 available",
      readyReplicas: 2,
      replicas: 3,
      currentDigest: A,
      url: "https://blog-acme.example.com",
    });
  });

  it("is Live only for the expected digest", () => {
    expect(sitePhase(site({ status: live }), B)).toMatchObject({ phase: "Live", reason: "Available", currentDigest: B, readyReplicas: 2, replicas: 2 });
    // The same object judged for a rollback target that is not rolled out yet.
    expect(sitePhase(site({ status: live }), A).phase).not.toBe("Live");
  });

  it("is not Live when Ready is False even with the right currentDigest", () => {
    const notReady: StaticSiteStatus = {
      ...live,
      conditions: [
        cond("Ready", "False", "RollingOut", "1 of 2 replicas updated"),
        cond("Progressing", "True", "RollingOut", "Scaling up"),
        cond("Degraded", "False", "AsExpected", "No problems found"),
      ],
    };
    expect(sitePhase(site({ status: notReady }), B).phase).toBe("Deploying");
  });

  it("is Failed with the operator's reason and message when Degraded", () => {
    const p = sitePhase(site({ status: fetchFailed }), B);
    expect(p).toMatchObject({
      phase: "Failed",
      reason: "ArtifactFetchFailed",
      message: "Fetching the artifact failed: digest mismatch: expected bbbb…, got cccc…; retrying with backoff",
      readyReplicas: 0,
      currentDigest: null,
    });
  });

  it("is Failed on a stalled rollout", () => {
    const stalled: StaticSiteStatus = {
      ...rollingOut,
      conditions: [
        cond("Ready", "False", "RolloutStalled", "Rollout made no progress within its deadline: ReplicaSet has timed out progressing."),
        cond("Progressing", "False", "RolloutStalled", "Rollout made no progress within its deadline: ReplicaSet has timed out progressing."),
        cond("Degraded", "True", "RolloutStalled", "Rollout made no progress within its deadline: ReplicaSet has timed out progressing."),
      ],
    };
    expect(sitePhase(site({ status: stalled }), B)).toMatchObject({ phase: "Failed", reason: "RolloutStalled", currentDigest: A });
  });

  it("stays Live but shows the problem when a live site is also Degraded", () => {
    const applyFailed: StaticSiteStatus = {
      ...live,
      conditions: [live.conditions![0]!, live.conditions![1]!, cond("Degraded", "True", "ApplyFailed", "Updating the site's objects failed: Ingress refused")],
    };
    const p = sitePhase(site({ status: applyFailed }), B);
    expect(p.phase).toBe("Live");
    expect(p.reason).toBe("ApplyFailed");
    expect(p.message).toContain("Ingress refused");
  });

  it("ignores a Degraded condition left from an older generation", () => {
    const mixed: StaticSiteStatus = {
      ...rollingOut,
      conditions: [rollingOut.conditions![0]!, rollingOut.conditions![1]!, cond("Degraded", "True", "ArtifactFetchFailed", "old failure", 1)],
    };
    expect(sitePhase(site({ status: mixed }), B).phase).toBe("Deploying");
  });

  it("is Offline while the StaticSite is being deleted", () => {
    const ss = site({ status: live });
    ss.metadata.deletionTimestamp = new Date(T);
    expect(sitePhase(ss, B)).toMatchObject({ phase: "Offline", reason: "Deleting" });
  });
});
