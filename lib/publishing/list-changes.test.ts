import { describe, expect, it } from "vitest";
import type { StaticSite, StaticSiteCondition, StaticSiteStatus } from "@/lib/staticsite/types";
import { listChangeFilter } from "./list-changes";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const T = "2026-12-01T10:00:00Z";

const cond = (type: StaticSiteCondition["type"], status: StaticSiteCondition["status"], reason: string, message: string): StaticSiteCondition => ({
  type,
  status,
  reason,
  message,
  observedGeneration: 1,
  lastTransitionTime: T,
});

function site(name: string, digest: string, status?: StaticSiteStatus): StaticSite {
  return {
    apiVersion: "pagoda.dev/v1alpha1",
    kind: "StaticSite",
    metadata: { name, namespace: "pagoda-acme", generation: 1, resourceVersion: "1" },
    spec: { artifact: { url: "https://dash.example.com/a", digest }, hosts: [`${name}-acme.example.com`], replicas: 1 },
    ...(status ? { status } : {}),
  };
}

const rollingOut = (ready: number, message: string): StaticSiteStatus => ({
  observedGeneration: 1,
  conditions: [
    cond("Ready", "False", "RollingOut", message),
    cond("Progressing", "True", "RollingOut", message),
    cond("Degraded", "False", "AsExpected", "No problems found"),
  ],
  replicas: 2,
  readyReplicas: ready,
});

const live = (digest: string): StaticSiteStatus => ({
  observedGeneration: 1,
  conditions: [
    cond("Ready", "True", "Available", "1 of 1 replicas serving"),
    cond("Progressing", "False", "RolloutComplete", "rolled out"),
    cond("Degraded", "False", "AsExpected", "No problems found"),
  ],
  replicas: 1,
  readyReplicas: 1,
  currentDigest: digest,
});

describe("listChangeFilter", () => {
  it("passes no status write that leaves a row's phase as it was rendered", () => {
    const changed = listChangeFilter([site("blog", A, rollingOut(0, "0 of 1 updated"))]);
    // The operator's progress writes during one rollout: counts and messages move, the badge stays "Deploying".
    expect(changed("blog", site("blog", A, rollingOut(0, "waiting for the new pod")))).toBe(false);
    expect(changed("blog", site("blog", A, rollingOut(1, "1 of 1 updated, 1 available")))).toBe(false);
  });

  it("passes a change of phase once, a new digest, and a deletion", () => {
    const changed = listChangeFilter([site("blog", A, rollingOut(0, "0 of 1 updated"))]);
    expect(changed("blog", site("blog", A, live(A)))).toBe(true);
    expect(changed("blog", site("blog", A, live(A)))).toBe(false);
    // Promoted elsewhere: the spec's digest moves before any status does.
    expect(changed("blog", site("blog", B, live(A)))).toBe(true);
    expect(changed("blog", null)).toBe(true);
    expect(changed("blog", null)).toBe(false);
  });

  it("passes the first news of a site the list was rendered without", () => {
    const changed = listChangeFilter([]);
    expect(changed("new", site("new", A))).toBe(true);
    expect(changed("new", site("new", A))).toBe(false);
  });
});
