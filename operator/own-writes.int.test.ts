// Write economy: a reconcile that finds nothing to change writes nothing,
// and the watch events of the operator's own writes queue no reconcile, while
// every change someone else makes to the same objects still does. The
// operator here resyncs once an hour, so anything it repairs within a test
// it repaired because a watch event made it look, and it sees only this
// file's namespaces: the shared cluster holds other files' sites, whose
// reconciles and echoes must not count here.
import { randomBytes } from "node:crypto";
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace } from "@/local-cluster/testing";
import { sharedCluster } from "@/tests/support/cluster";
import { CONDITION_PROGRESSING, findCondition } from "@/lib/staticsite/types";
import { Clients, siteSpec, testOperatorConfig, waitFor } from "./int-test-support";
import { counterTotal } from "./metrics";
import { startOperator, type RunningOperator } from "./controller";

describe("the operator's own writes", () => {
  const selectorLabel = `pagoda.dev/own-writes-${randomBytes(3).toString("hex")}`;
  let clients: Clients;
  let kc: KubeConfig;
  let operator: RunningOperator;

  beforeAll(async () => {
    const { kubeconfigPath } = sharedCluster();
    clients = Clients.fromFile(kubeconfigPath);
    kc = clients.kc;
    operator = await startOperator(testOperatorConfig(kubeconfigPath, { namespaceSelector: `${selectorLabel}=true`, resyncMs: 3_600_000 }));
    await waitFor("the operator to lead", async () => (operator.isLeader() ? true : undefined));
  });

  afterAll(async () => {
    await operator?.stop();
  });

  async function namespace(prefix: string): Promise<string> {
    const name = await createTestNamespace(kc, prefix);
    await kc
      .makeApiClient(CoreV1Api)
      .patchNamespace({ name, body: { metadata: { labels: { [selectorLabel]: "true" } } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    return name;
  }

  /** Writes of reconciles: the leader renewing its Lease is no reconcile's doing. */
  async function reconcileWrites(): Promise<number> {
    const { values } = await operator.metrics.apiWrites.get();
    return values.filter((v) => v.labels.kind !== "Lease").reduce((sum, v) => sum + v.value, 0);
  }

  async function echoes(): Promise<Record<string, number>> {
    const { values } = await operator.metrics.watchEchoes.get();
    return Object.fromEntries(values.map((v) => [String(v.labels.kind), v.value]));
  }

  // First, while no other site of this file is still settling.
  it("makes no API write when nothing changed", async () => {
    const ns = await namespace("quiet");
    // One spec for every write: siteSpec() picks a new host each time.
    const spec = siteSpec({ replicas: 2 });
    await clients.applySite(ns, "calm", spec);
    await waitFor("status", async () => {
      const s = await clients.getSite(ns, "calm");
      return findCondition(s.status, CONDITION_PROGRESSING)?.message.includes("waiting to be scheduled") ? true : undefined;
    });
    // Let the controller manager finish reacting (ReplicaSet, Pods, Deployment status).
    await waitFor("controllers to settle", async () => {
      const d = await clients.apps.readNamespacedDeployment({ name: "calm", namespace: ns });
      return d.status?.observedGeneration === d.metadata?.generation && d.status?.replicas === 2 ? true : undefined;
    });
    await operator.idle();
    const writesBefore = await reconcileWrites();
    const reconcilesBefore = await counterTotal(operator.metrics.reconciles);

    // A metadata-only change triggers reconciles of this site without changing anything it derives from.
    for (let i = 0; i < 3; i++) {
      await clients.applySite(ns, "calm", spec, { touched: String(i) });
    }
    await waitFor("reconciles triggered by the edits", async () =>
      (await counterTotal(operator.metrics.reconciles)) >= reconcilesBefore + 1 ? true : undefined,
    );
    await operator.idle();
    expect(await reconcileWrites()).toBe(writesBefore);
  });

  it("queues no reconcile for the watch events its own writes cause", async () => {
    const ns = await namespace("echo");
    await clients.applySite(ns, "echo", siteSpec());
    // Every object the operator wrote for the new site came back through its watch as its own write.
    const seen = await waitFor("an echo of each write", async () => {
      const counts = await echoes();
      const kinds = ["ConfigMap", "Service", "Deployment", "Ingress", "StaticSite"];
      return kinds.every((kind) => (counts[kind] ?? 0) >= 1) ? counts : undefined;
    });
    expect(seen.StaticSite).toBeGreaterThanOrEqual(1);
  });

  it("still repairs what someone else changes or deletes, right after its own writes", async () => {
    const ns = await namespace("repair");
    const spec = siteSpec();
    await clients.applySite(ns, "wiki", spec);
    const svc = await waitFor("Service", () => clients.core.readNamespacedService({ name: "wiki", namespace: ns }));
    await waitFor("ConfigMap", () => clients.core.readNamespacedConfigMap({ name: "wiki-nginx", namespace: ns }));
    await waitFor("status", async () => ((await clients.getSite(ns, "wiki")).status?.observedGeneration === 1 ? true : undefined));

    // A new spec makes the operator write again; the edits land among its writes' echoes.
    await clients.applySite(ns, "wiki", { ...spec, replicas: 2 });
    await clients.core.patchNamespacedConfigMap(
      { name: "wiki-nginx", namespace: ns, body: { data: { "nginx.conf": "# vandalised" } }, fieldManager: "kubectl-edit" },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await clients.core.deleteNamespacedService({ name: "wiki", namespace: ns });
    await clients.apps.patchNamespacedDeployment(
      { name: "wiki", namespace: ns, body: { spec: { replicas: 7 } }, fieldManager: "kubectl-edit" },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );

    await waitFor("nginx.conf restored", async () => {
      const c = await clients.core.readNamespacedConfigMap({ name: "wiki-nginx", namespace: ns });
      return c.data?.["nginx.conf"]?.includes("listen 8080") ? true : undefined;
    });
    await waitFor("Service re-created", async () => {
      const s = await clients.core.readNamespacedService({ name: "wiki", namespace: ns });
      return s.metadata?.uid !== svc.metadata?.uid ? true : undefined;
    });
    await waitFor("replicas back to the spec's", async () => {
      const d = await clients.apps.readNamespacedDeployment({ name: "wiki", namespace: ns });
      return d.spec?.replicas === 2 ? true : undefined;
    });

    // Edited again once all is quiet: the operator's last write of the object is long answered.
    await operator.idle();
    await clients.core.patchNamespacedConfigMap(
      { name: "wiki-nginx", namespace: ns, body: { data: { "nginx.conf": "# vandalised again" } }, fieldManager: "kubectl-edit" },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await waitFor("nginx.conf restored again", async () => {
      const c = await clients.core.readNamespacedConfigMap({ name: "wiki-nginx", namespace: ns });
      return c.data?.["nginx.conf"]?.includes("listen 8080") ? true : undefined;
    });
  });
});
