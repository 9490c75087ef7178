import { describe, expect, it } from "vitest";
import { findCondition, type StaticSiteStatus } from "@/lib/staticsite/types";
import { makeSite, DIGEST_A, DIGEST_B } from "../test-fixtures";
import { transitionEvents } from "../status";
import type { PoolState, ServedSite } from "./protocol";
import { DOMAINS_WITHOUT_POOL, deriveSharedStatus, poolServesSite, sharedDomainReport, type ReplicaReport, type SharedStatusInputs } from "./status";

const KEY = "acme/blog";
const HOSTS = ["blog.example.com"];
const now = new Date("2026-12-01T10:00:00Z");

function replica(pod: string, served: (Omit<ServedSite, "key" | "hosts"> & { hosts?: string[] }) | undefined, ready = true): ReplicaReport {
  const state: PoolState = {
    version: 3,
    desiredGeneration: 7,
    appliedGeneration: 7,
    sites: served ? [{ key: KEY, hosts: served.hosts ?? HOSTS, ...served }] : [],
    cache: { entries: 1, bytes: 100 },
  };
  return { pod, ready, state };
}

function status(over: Partial<SharedStatusInputs> = {}, site = makeSite({ serving: "shared" })): StaticSiteStatus {
  return deriveSharedStatus({ site, url: "http://blog.example.com", poolConfigured: true, replicas: [], hosts: HOSTS, now, ...over });
}

const reason = (s: StaticSiteStatus, type: string) => findCondition(s, type as "Ready")?.reason;

describe("status of a shared site", () => {
  it("is Available with the digest current once every ready replica serves it", () => {
    const s = status({ replicas: [replica("p1", { digest: DIGEST_A }), replica("p2", { digest: DIGEST_A })] });
    expect(findCondition(s, "Ready")).toMatchObject({ status: "True", reason: "Available", message: `2 of 2 pool replicas serving sha256:${"a".repeat(12)}` });
    expect(reason(s, "Progressing")).toBe("RolloutComplete");
    expect(findCondition(s, "Degraded")?.status).toBe("False");
    expect(s).toMatchObject({ currentDigest: DIGEST_A, shortDigest: "a".repeat(12), replicas: 2, readyReplicas: 2, url: "http://blog.example.com" });
  });

  it("is not Ready while one ready replica is behind, and keeps the previous digest current", () => {
    const site = makeSite({ serving: "shared", artifact: { url: "https://pagoda.example/b.tgz", digest: DIGEST_B } });
    site.status = { currentDigest: DIGEST_A, shortDigest: "a".repeat(12) };
    const s = status({ replicas: [replica("p1", { digest: DIGEST_B }), replica("p2", { digest: DIGEST_A })] }, site);
    expect(findCondition(s, "Ready")).toMatchObject({ status: "False", reason: "RollingOut" });
    expect(findCondition(s, "Ready")?.message).toContain(
      `1 of 2 pool replicas serve sha256:${"b".repeat(12)}; sha256:${"a".repeat(12)} keeps serving meanwhile`,
    );
    expect(findCondition(s, "Progressing")).toMatchObject({ status: "True", reason: "RollingOut" });
    expect(s.currentDigest).toBe(DIGEST_A);
    expect(s).toMatchObject({ replicas: 2, readyReplicas: 1 });
    // A replica serving the digest on fewer hosts than the site holds does not count.
    const partial = status({ replicas: [replica("p1", { digest: DIGEST_A, hosts: [] })] });
    expect(reason(partial, "Ready")).toBe("RollingOut");
    expect(poolServesSite([replica("p1", { digest: DIGEST_A, hosts: [] })], KEY, DIGEST_A, HOSTS)).toBe(false);
  });

  it("counts only replicas that are ready and in touch", () => {
    const s = status({ replicas: [replica("p1", { digest: DIGEST_A }), replica("p2", undefined, false), { pod: "p3", ready: true, state: undefined }] });
    expect(reason(s, "Ready")).toBe("Available");
    expect(s).toMatchObject({ replicas: 1, readyReplicas: 1 });
  });

  it("says PoolUnavailable when no replica is ready, whatever was asked of them", () => {
    for (const replicas of [[], [replica("p1", { digest: DIGEST_A }, false)], [{ pod: "p1", ready: true, state: undefined }]]) {
      const s = status({ replicas });
      expect(findCondition(s, "Ready")).toMatchObject({ status: "False", reason: "PoolUnavailable" });
      expect(findCondition(s, "Progressing")).toMatchObject({ status: "True", reason: "PoolUnavailable" });
      expect(findCondition(s, "Degraded")).toMatchObject({ status: "True", reason: "PoolUnavailable" });
      expect(s.currentDigest).toBeUndefined();
      expect(s).toMatchObject({ replicas: 0, readyReplicas: 0 });
      expect(poolServesSite(replicas, KEY, DIGEST_A, HOSTS)).toBe(false);
    }
  });

  it("says PoolNotConfigured without a pool", () => {
    const s = status({ poolConfigured: false, replicas: [replica("p1", { digest: DIGEST_A })] });
    for (const type of ["Ready", "Progressing", "Degraded"]) expect(reason(s, type)).toBe("PoolNotConfigured");
    expect(findCondition(s, "Degraded")?.message).toContain("PAGODA_OPERATOR_POOL_IMAGE");
    expect(findCondition(s, "Ready")?.status).toBe("False");
  });

  it("passes on the agent's error reason and message, the old version serving meanwhile", () => {
    for (const errorReason of ["ArtifactFetchFailed", "ArtifactInvalid", "ConfigInvalid"] as const) {
      const site = makeSite({ serving: "shared", artifact: { url: "https://pagoda.example/b.tgz", digest: DIGEST_B } });
      site.status = { currentDigest: DIGEST_A, shortDigest: "a".repeat(12) };
      const error = { reason: errorReason, message: `the agent says ${errorReason}` };
      const s = status({ replicas: [replica("p1", { digest: DIGEST_A, error }), replica("p2", { digest: DIGEST_A, error })] }, site);
      expect(findCondition(s, "Degraded")).toMatchObject({ status: "True", reason: errorReason });
      expect(findCondition(s, "Degraded")?.message).toContain(`the agent says ${errorReason}`);
      expect(findCondition(s, "Degraded")?.message).toContain(`sha256:${"a".repeat(12)} keeps serving meanwhile`);
      expect(reason(s, "Ready")).toBe(errorReason);
      expect(s.currentDigest).toBe(DIGEST_A);
      expect(transitionEvents(site.status, s).map((e) => e.reason)).toContain(errorReason);
    }
  });

  it("reports a suspended site drained once no replica serves it", () => {
    const site = makeSite({ serving: "shared", suspend: true });
    expect(reason(status({ replicas: [replica("p1", { digest: DIGEST_A })] }, site), "Progressing")).toBe("Suspending");
    const drained = status({ replicas: [replica("p1", undefined)] }, site);
    expect(reason(drained, "Progressing")).toBe("Suspended");
    expect(reason(drained, "Ready")).toBe("Suspended");
    expect(findCondition(drained, "Degraded")?.status).toBe("False");
  });

  it("puts host problems and failed applies in Degraded, as for dedicated sites", () => {
    const replicas = [replica("p1", { digest: DIGEST_A })];
    const host = status({ replicas, hostProblem: { reason: "HostConflict", message: "Host blog.example.com is already served by another site" } });
    expect(reason(host, "Degraded")).toBe("HostConflict");
    expect(reason(host, "Ready")).toBe("Available");
    expect(reason(status({ replicas, applyError: "forbidden" }), "Degraded")).toBe("ApplyFailed");
  });

  it("refuses every custom domain without a pool, saying why", () => {
    const domains = sharedDomainReport(["www.customer.test", "shop.customer.test", "www.customer.test"]);
    expect(domains.domains).toEqual([
      { name: "www.customer.test", state: "refused", reason: DOMAINS_WITHOUT_POOL },
      { name: "shop.customer.test", state: "refused", reason: DOMAINS_WITHOUT_POOL },
    ]);
    expect(DOMAINS_WITHOUT_POOL).toMatch(/PAGODA_OPERATOR_POOL_IMAGE/);
    const s = status({ poolConfigured: false, replicas: [], domains });
    expect(s.domains).toEqual(domains.domains);
    expect(reason(s, "Certificates")).toBe("PoolNotConfigured");
    expect(reason(s, "Ready")).toBe("PoolNotConfigured");
  });

  it("keeps lastTransitionTime while a condition's status holds", () => {
    const site = makeSite({ serving: "shared" });
    const first = status({ replicas: [] }, site);
    const later = deriveSharedStatus({
      site: { ...site, status: first },
      url: "http://blog.example.com",
      poolConfigured: true,
      replicas: [{ pod: "p1", ready: false, state: undefined }],
      hosts: HOSTS,
      now: new Date(now.getTime() + 60_000),
    });
    expect(findCondition(later, "Ready")?.lastTransitionTime).toBe(findCondition(first, "Ready")?.lastTransitionTime);
  });
});
