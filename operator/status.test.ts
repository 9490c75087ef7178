import { describe, expect, it } from "vitest";
import type { StaticSiteStatus } from "@/lib/staticsite/types";
import { deriveStatus, statusEqual, transitionEvents } from "./status";
import { DIGEST_A, DIGEST_B, makeDeployment, makePod, makeSite } from "./test-fixtures";

const url = "http://blog.example.com";
const t0 = new Date("2026-05-01T10:00:00.123Z");
const t1 = new Date("2026-05-01T10:05:00Z");

function cond(status: StaticSiteStatus, type: string) {
  return status.conditions?.find((c) => c.type === type);
}

describe("deriveStatus", () => {
  it("reports a completed rollout as Ready with the digest live", () => {
    const status = deriveStatus({ site: makeSite({}, 4), deployment: makeDeployment(), pods: [], url, now: t0 });
    expect(status.observedGeneration).toBe(4);
    expect(status.currentDigest).toBe(DIGEST_A);
    expect(status.shortDigest).toBe("aaaaaaaaaaaa");
    expect(status.url).toBe(url);
    expect(status.replicas).toBe(1);
    expect(status.readyReplicas).toBe(1);
    expect(cond(status, "Ready")).toMatchObject({ status: "True", reason: "Available", observedGeneration: 4, lastTransitionTime: "2026-05-01T10:00:00Z" });
    expect(cond(status, "Progressing")).toMatchObject({ status: "False", reason: "RolloutComplete" });
    expect(cond(status, "Degraded")).toMatchObject({ status: "False" });
  });

  it("does not call a digest live before the Deployment controller observed the change", () => {
    const dep = makeDeployment({ generation: 2, observedGeneration: 1 });
    const status = deriveStatus({ site: makeSite(), deployment: dep, pods: [], url, now: t0 });
    expect(status.currentDigest).toBeUndefined();
    expect(cond(status, "Ready")?.status).toBe("False");
    expect(cond(status, "Progressing")).toMatchObject({ status: "True", reason: "RollingOut" });
  });

  it("keeps the previous digest current while a new one rolls out", () => {
    const site = makeSite({ artifact: { url: "https://x/b.tgz", digest: DIGEST_B } }, 2);
    site.status = deriveStatus({ site: makeSite(), deployment: makeDeployment(), pods: [], url, now: t0 });
    const dep = makeDeployment({ digest: DIGEST_B, generation: 2, replicas: 2, updated: 1, available: 1, ready: 1 });
    const status = deriveStatus({ site, deployment: dep, pods: [], url, now: t1 });
    expect(status.currentDigest).toBe(DIGEST_A);
    expect(cond(status, "Ready")?.message).toContain("keeps serving");
    expect(cond(status, "Progressing")?.message).toContain("1 of 1 replicas updated to sha256:bbbbbbbbbbbb, 1 available");
  });

  it("needs updated, available and total replicas all at the wanted count", () => {
    const site = makeSite({ replicas: 3 });
    for (const partial of [{ updated: 2 }, { available: 2 }, { replicas: 4 }, { specReplicas: 2 }]) {
      const dep = makeDeployment({ specReplicas: 3, replicas: 3, updated: 3, available: 3, ready: 3, ...partial });
      expect(deriveStatus({ site, deployment: dep, pods: [], url, now: t0 }).currentDigest, JSON.stringify(partial)).toBeUndefined();
    }
    const done = makeDeployment({ specReplicas: 3, replicas: 3, updated: 3, available: 3, ready: 3 });
    expect(deriveStatus({ site, deployment: done, pods: [], url, now: t0 }).currentDigest).toBe(DIGEST_A);
  });

  it("requires the Deployment's template to carry the spec's digest", () => {
    const site = makeSite({ artifact: { url: "https://x/b.tgz", digest: DIGEST_B } });
    const status = deriveStatus({ site, deployment: makeDeployment({ digest: DIGEST_A }), pods: [], url, now: t0 });
    expect(status.currentDigest).toBeUndefined();
  });

  it("explains an artifact fetch failure from the init container's termination message", () => {
    const pod = makePod({
      initContainerStatuses: [
        {
          name: "fetch",
          image: "busybox:1.37",
          imageID: "",
          ready: false,
          restartCount: 3,
          state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s" } },
          lastState: { terminated: { exitCode: 1, message: "artifact digest mismatch: expected sha256:aa, got sha256:bb\n" } },
        },
      ],
    });
    const dep = makeDeployment({ available: 0, ready: 0, updated: 1 });
    const status = deriveStatus({ site: makeSite(), deployment: dep, pods: [pod], url, now: t0 });
    expect(cond(status, "Degraded")).toMatchObject({
      status: "True",
      reason: "ArtifactFetchFailed",
      message: "Fetching the artifact failed: artifact digest mismatch: expected sha256:aa, got sha256:bb; retrying with backoff",
    });
    expect(cond(status, "Ready")).toMatchObject({ status: "False", reason: "ArtifactFetchFailed" });
  });

  it("explains an image pull failure", () => {
    const pod = makePod({
      containerStatuses: [
        {
          name: "nginx",
          image: "nginx:nope",
          imageID: "",
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "nginx:nope"' } },
        },
      ],
    });
    const status = deriveStatus({ site: makeSite(), deployment: makeDeployment({ available: 0 }), pods: [pod], url, now: t0 });
    expect(cond(status, "Degraded")).toMatchObject({ status: "True", reason: "ImagePullFailed" });
    expect(cond(status, "Degraded")?.message).toContain("nginx:nope");
  });

  it("ignores problems of pods from another digest", () => {
    const oldPod = makePod(
      { containerStatuses: [{ name: "nginx", image: "x", imageID: "", ready: false, restartCount: 0, state: { waiting: { reason: "ErrImagePull" } } }] },
      DIGEST_B,
    );
    const status = deriveStatus({ site: makeSite(), deployment: makeDeployment(), pods: [oldPod], url, now: t0 });
    expect(cond(status, "Degraded")?.status).toBe("False");
  });

  it("says so when pods wait for a node, without calling it degraded", () => {
    const pod = makePod({
      phase: "Pending",
      conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "no nodes available to schedule pods" }],
    });
    const dep = makeDeployment({ available: 0, ready: 0 });
    const status = deriveStatus({ site: makeSite(), deployment: dep, pods: [pod], url, now: t0 });
    expect(cond(status, "Degraded")?.status).toBe("False");
    expect(cond(status, "Progressing")?.message).toContain("waiting to be scheduled: no nodes available");
  });

  it("reports a stalled rollout", () => {
    const dep = makeDeployment({
      available: 0,
      conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "blog-1" has timed out progressing.' }],
    });
    const status = deriveStatus({ site: makeSite(), deployment: dep, pods: [], url, now: t0 });
    expect(cond(status, "Progressing")).toMatchObject({ status: "False", reason: "RolloutStalled" });
    expect(cond(status, "Degraded")).toMatchObject({ status: "True", reason: "RolloutStalled" });
    const pending = makePod({
      phase: "Pending",
      conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/0 nodes are available" }],
    });
    const withPods = deriveStatus({ site: makeSite(), deployment: dep, pods: [pending], url, now: t0 });
    expect(cond(withPods, "Degraded")?.message).toContain("has timed out progressing; pods are waiting to be scheduled: 0/0 nodes");
  });

  it("reports suspension", () => {
    const site = makeSite({ suspend: true });
    const draining = deriveStatus({ site, deployment: makeDeployment({ specReplicas: 0, replicas: 1 }), pods: [], url, now: t0 });
    expect(cond(draining, "Progressing")).toMatchObject({ status: "True", reason: "Suspending" });
    const done = deriveStatus({
      site,
      deployment: makeDeployment({ specReplicas: 0, replicas: 0, updated: 0, available: 0, ready: 0 }),
      pods: [],
      url,
      now: t0,
    });
    expect(cond(done, "Ready")).toMatchObject({ status: "False", reason: "Suspended" });
    expect(cond(done, "Progressing")).toMatchObject({ status: "False", reason: "Suspended" });
  });

  it("reports rules that do not parse as Degraded with their own reason, file and line", () => {
    const status = deriveStatus({
      site: makeSite(),
      deployment: undefined,
      pods: [],
      url,
      now: t0,
      rulesError: "spec.rules: _redirects line 2: status 999 is not a redirect status",
    });
    expect(cond(status, "Degraded")).toMatchObject({
      status: "True",
      reason: "RulesInvalid",
      message: "The site's rules are refused, so its last good configuration keeps serving: spec.rules: _redirects line 2: status 999 is not a redirect status",
    });
  });

  it("reports apply failures as Degraded", () => {
    const status = deriveStatus({ site: makeSite(), deployment: undefined, pods: [], url, now: t0, applyError: "admission webhook denied" });
    expect(cond(status, "Degraded")).toMatchObject({ status: "True", reason: "ApplyFailed" });
    expect(cond(status, "Ready")).toMatchObject({ status: "False", reason: "Creating" });
  });

  it("reports hosts it does not serve as Degraded, even while the rollout is fine", () => {
    const hostProblem = { reason: "HostConflict", message: "Host a.example.com is already served by another site" };
    const live = deriveStatus({ site: makeSite(), deployment: makeDeployment(), pods: [], url, now: t0, hostProblem });
    expect(cond(live, "Degraded")).toMatchObject({ status: "True", reason: "HostConflict", message: hostProblem.message });
    expect(cond(live, "Ready")).toMatchObject({ status: "True" });
    const suspended = deriveStatus({
      site: makeSite({ suspend: true }),
      deployment: makeDeployment({ specReplicas: 0, replicas: 0 }),
      pods: [],
      url,
      now: t0,
      hostProblem,
    });
    expect(cond(suspended, "Degraded")).toMatchObject({ status: "False", reason: "Suspended" });
  });

  it("moves lastTransitionTime only when a condition's status flips", () => {
    const site = makeSite();
    const first = deriveStatus({ site, deployment: makeDeployment({ available: 0, ready: 0 }), pods: [], url, now: t0 });
    site.status = first;
    const same = deriveStatus({ site, deployment: makeDeployment({ available: 0, ready: 0, updated: 0 }), pods: [], url, now: t1 });
    expect(cond(same, "Ready")?.lastTransitionTime).toBe("2026-05-01T10:00:00Z");
    const flipped = deriveStatus({ site, deployment: makeDeployment(), pods: [], url, now: t1 });
    expect(cond(flipped, "Ready")?.lastTransitionTime).toBe("2026-05-01T10:05:00Z");
    expect(cond(flipped, "Degraded")?.lastTransitionTime).toBe("2026-05-01T10:00:00Z");
  });
});

describe("statusEqual", () => {
  it("sees no change when nothing changed, regardless of key order", () => {
    const site = makeSite();
    const status = deriveStatus({ site, deployment: makeDeployment(), pods: [], url, now: t0 });
    const reordered = JSON.parse(JSON.stringify({ url: status.url, ...status })) as StaticSiteStatus;
    expect(statusEqual(reordered, status)).toBe(true);
    site.status = status;
    expect(statusEqual(status, deriveStatus({ site, deployment: makeDeployment(), pods: [], url, now: t1 }))).toBe(true);
    expect(statusEqual(status, { ...status, readyReplicas: 0 })).toBe(false);
    expect(statusEqual(undefined, status)).toBe(false);
  });
});

describe("transitionEvents", () => {
  it("announces a live digest once, warns on degradation, and is silent in steady state", () => {
    const site = makeSite();
    const progressing = deriveStatus({ site, deployment: makeDeployment({ available: 0 }), pods: [], url, now: t0 });
    expect(transitionEvents(undefined, progressing)).toEqual([]);
    site.status = progressing;
    const ready = deriveStatus({ site, deployment: makeDeployment(), pods: [], url, now: t1 });
    expect(transitionEvents(progressing, ready)).toEqual([{ type: "Normal", reason: "RolloutComplete", message: "sha256:aaaaaaaaaaaa is live" }]);
    expect(transitionEvents(ready, ready)).toEqual([]);
    const failing = deriveStatus({ site, deployment: undefined, pods: [], url, now: t1, applyError: "quota" });
    expect(transitionEvents(ready, failing).map((e) => [e.type, e.reason])).toEqual([["Warning", "ApplyFailed"]]);
    expect(transitionEvents(failing, ready).map((e) => e.reason)).toEqual(["RolloutComplete", "Recovered"]);
  });
});
