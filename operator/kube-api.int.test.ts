// The operator's API client against the real API server, with no operator
// running: what it writes is exactly what is stored.
import { describe, expect, it } from "vitest";
import { createTestNamespace } from "@/local-cluster/testing";
import type { StaticSiteCondition, StaticSiteStatus } from "@/lib/staticsite/types";
import { sharedCluster } from "@/tests/support/cluster";
import { Clients, digestOf, siteSpec } from "./int-test-support";
import { KubeApi } from "./kube-api";
import { createMetrics } from "./metrics";

const condition = (type: StaticSiteCondition["type"], status: StaticSiteCondition["status"]): StaticSiteCondition => ({
  type,
  status,
  observedGeneration: 1,
  lastTransitionTime: "2026-05-01T10:00:00Z",
  reason: "Test",
  message: `${type} is ${status}`,
});

describe("KubeApi against a real API server", () => {
  it("writes the whole status: fields it no longer reports are removed, conditions replaced, zeros kept", async () => {
    const clients = Clients.fromFile(sharedCluster().kubeconfigPath);
    const metrics = createMetrics();
    const api = new KubeApi(clients.kc, metrics);
    const ns = await createTestNamespace(clients.kc, "status-write");
    const site = await clients.applySite(ns, "blog", siteSpec());

    const full: StaticSiteStatus = {
      observedGeneration: 1,
      conditions: [condition("Ready", "True"), condition("Progressing", "False"), condition("Degraded", "False")],
      replicas: 2,
      readyReplicas: 2,
      url: "https://site.example.com",
      currentDigest: digestOf("a"),
      shortDigest: "a".repeat(12),
    };
    await api.applyStatus(site, full);
    expect((await clients.getSite(ns, "blog")).status).toEqual(full);

    const less: StaticSiteStatus = { observedGeneration: 1, conditions: [condition("Ready", "False")], replicas: 0, readyReplicas: 0 };
    const answer = await api.applyStatus(site, less);
    const stored = await clients.getSite(ns, "blog");
    expect(stored.status).toEqual(less);
    expect(answer).toEqual({ resourceVersion: stored.metadata.resourceVersion, generation: 1 });
    // Status only: the spec is the dashboard's and stays as it was.
    expect(stored.spec).toEqual(site.spec);
    const writes = (await metrics.apiWrites.get()).values.map((v) => `${v.labels.verb} ${v.labels.kind} ${v.value}`);
    expect(writes).toEqual(["apply-status StaticSite 2"]);

    // Written from a site read before its spec changed: the answer says so by its generation.
    await clients.applySite(ns, "blog", { ...site.spec, replicas: 3 });
    const afterChange = await api.applyStatus(site, full);
    const changed = await clients.getSite(ns, "blog");
    expect(afterChange).toEqual({ resourceVersion: changed.metadata.resourceVersion, generation: 2 });
    expect(changed.spec.replicas).toBe(3);
  });
});
