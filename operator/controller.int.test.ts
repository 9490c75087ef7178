// The operator against a real control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler) without a node: Deployments get
// ReplicaSets and Pods stay Pending, which is enough to prove reconciliation,
// drift repair, garbage collection and status. Write economy has its own
// file (own-writes.int.test.ts), with an operator that sees only its sites.
import { CoordinationV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace } from "@/local-cluster/testing";
import { sharedCluster } from "@/tests/support/cluster";
import { ANNOTATION_CONFIG_HASH, ANNOTATION_DIGEST, CONDITION_DEGRADED, CONDITION_PROGRESSING, CONDITION_READY, findCondition } from "@/lib/staticsite/types";
import type { OperatorConfig } from "./config";
import {
  Clients,
  createSiteNamespace,
  digestOf,
  httpCode,
  httpMessage,
  PAGODA_NAMESPACE_LABELS,
  siteSpec,
  testOperatorConfig,
  TEST_BASE_DOMAIN,
  uniqueHost,
  waitFor,
} from "./int-test-support";
import { startOperator, type RunningOperator } from "./controller";

const labels = (name: string, tenant: string) => ({
  "app.kubernetes.io/managed-by": "pagoda",
  "app.kubernetes.io/name": name,
  "pagoda.dev/tenant": tenant,
});

describe("operator against a real API server", () => {
  /** For waitFor: true once the object is gone (404). */
  const gone = async (read: () => Promise<unknown>) => {
    try {
      await read();
      return undefined;
    } catch (err) {
      return httpCode(err) === 404 ? true : undefined;
    }
  };
  // The run's shared control plane; every test keeps to its own namespace.
  const cluster = { kubeconfigPath: "" };
  let clients: Clients;
  let kc: KubeConfig;
  let config: OperatorConfig;
  let operator: RunningOperator;

  beforeAll(async () => {
    cluster.kubeconfigPath = sharedCluster().kubeconfigPath;
    clients = Clients.fromFile(cluster.kubeconfigPath);
    kc = clients.kc;
    config = testOperatorConfig(cluster.kubeconfigPath);
    operator = await startOperator(config);
    await waitFor("the operator to lead", async () => (operator.isLeader() ? true : undefined));
  });

  afterAll(async () => {
    await operator?.stop();
  });

  async function settled(): Promise<void> {
    await operator.idle();
  }

  it("serves health, readiness and metrics", async () => {
    const base = `http://127.0.0.1:${operator.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status, await ready.clone().text()).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain("pagoda_operator_reconciles_total");
    expect(metrics).toContain("pagoda_operator_queue_depth");
    expect(metrics).toContain("pagoda_operator_leader 1");
  });

  it("creates every child with owner reference and labels, and writes status", async () => {
    const ns = await createSiteNamespace(kc, "create");
    const host = uniqueHost("blog");
    const created = await clients.applySite(ns, "blog", siteSpec({ replicas: 2, hosts: [host] }));
    const uid = created.metadata.uid;

    const dep = await waitFor("Deployment", () => clients.apps.readNamespacedDeployment({ name: "blog", namespace: ns }));
    const cm = await waitFor("ConfigMap", () => clients.core.readNamespacedConfigMap({ name: "blog-nginx", namespace: ns }));
    const svc = await waitFor("Service", () => clients.core.readNamespacedService({ name: "blog", namespace: ns }));
    const ing = await waitFor("Ingress", () => clients.networking.readNamespacedIngress({ name: "blog", namespace: ns }));
    const pdb = await waitFor("PDB", () => clients.policy.readNamespacedPodDisruptionBudget({ name: "blog", namespace: ns }));
    for (const obj of [dep, cm, svc, ing, pdb]) {
      expect(obj.metadata?.labels).toEqual(expect.objectContaining(labels("blog", ns)));
      expect(obj.metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: "StaticSite", name: "blog", uid, controller: true, blockOwnerDeletion: true }),
      ]);
      expect(obj.metadata?.managedFields?.some((f) => f.manager === "pagoda-operator" && f.operation === "Apply")).toBe(true);
    }
    expect(dep.spec?.replicas).toBe(2);
    expect(dep.spec?.template.metadata?.annotations?.[ANNOTATION_DIGEST]).toBe(digestOf("a"));
    expect(cm.data?.["nginx.conf"]).toContain("listen 8080");
    expect(ing.spec?.ingressClassName).toBe("pagoda-test");
    expect(ing.spec?.rules?.[0]?.host).toBe(host);

    // The controller manager acts on what the operator made: a ReplicaSet and Pods.
    await waitFor("a ReplicaSet owned by the Deployment", async () => {
      const rs = await clients.apps.listNamespacedReplicaSet({ namespace: ns });
      return rs.items.some((r) => r.metadata?.ownerReferences?.[0]?.name === "blog") ? true : undefined;
    });

    const site = await waitFor("status", async () => {
      const s = await clients.getSite(ns, "blog");
      return s.status?.observedGeneration === 1 && s.status.conditions?.length === 3 ? s : undefined;
    });
    expect(site.status?.url).toBe(`http://${host}/`);
    expect(site.status?.currentDigest).toBeUndefined();
    expect(findCondition(site.status, CONDITION_READY)).toMatchObject({ status: "False", observedGeneration: 1 });
    expect(findCondition(site.status, CONDITION_PROGRESSING)).toMatchObject({ status: "True", reason: "RollingOut" });
    // No node in this cluster: the message must say why nothing is running.
    await waitFor("status to explain pending pods", async () => {
      const s = await clients.getSite(ns, "blog");
      return findCondition(s.status, CONDITION_PROGRESSING)?.message.includes("waiting to be scheduled") ? true : undefined;
    });
  });

  it("updates children when the spec changes, and observedGeneration follows", async () => {
    const ns = await createSiteNamespace(kc, "update");
    await clients.applySite(ns, "docs", siteSpec());
    const before = await waitFor("Deployment", () => clients.apps.readNamespacedDeployment({ name: "docs", namespace: ns }));
    const hashBefore = before.spec?.template.metadata?.annotations?.[ANNOTATION_CONFIG_HASH];

    await clients.applySite(ns, "docs", siteSpec({ artifact: { url: "http://127.0.0.1:9/b.tgz", digest: digestOf("b") }, spa: true, hosts: [] }));
    const after = await waitFor("Deployment with the new digest", async () => {
      const d = await clients.apps.readNamespacedDeployment({ name: "docs", namespace: ns });
      return d.spec?.template.metadata?.annotations?.[ANNOTATION_DIGEST] === digestOf("b") ? d : undefined;
    });
    expect(after.spec?.template.metadata?.annotations?.[ANNOTATION_CONFIG_HASH]).not.toBe(hashBefore);
    const env = after.spec?.template.spec?.initContainers?.[0]?.env;
    expect(env).toContainEqual({ name: "ARTIFACT_URL", value: "http://127.0.0.1:9/b.tgz" });
    const cm = await clients.core.readNamespacedConfigMap({ name: "docs-nginx", namespace: ns });
    expect(cm.data?.["nginx.conf"]).toContain("try_files $pagoda_file $uri/ /index.html;");
    // No hosts any more: the Ingress goes, the URL falls back to the Service.
    await waitFor("Ingress removal", async () => {
      try {
        await clients.networking.readNamespacedIngress({ name: "docs", namespace: ns });
        return undefined;
      } catch (err) {
        return httpCode(err) === 404 ? true : undefined;
      }
    });
    const site = await waitFor("observedGeneration 2", async () => {
      const s = await clients.getSite(ns, "docs");
      return s.status?.observedGeneration === 2 ? s : undefined;
    });
    expect(site.status?.url).toBe(`http://docs.${ns}.svc.cluster.local/`);
    expect(findCondition(site.status, CONDITION_READY)?.observedGeneration).toBe(2);
  });

  it("adds a PDB above one replica and removes it again; suspend scales to zero and withdraws the Ingress", async () => {
    const ns = await createSiteNamespace(kc, "scale");
    await clients.applySite(ns, "shop", siteSpec({ replicas: 1 }));
    await waitFor("Deployment", () => clients.apps.readNamespacedDeployment({ name: "shop", namespace: ns }));
    await clients.applySite(ns, "shop", siteSpec({ replicas: 3 }));
    await waitFor("PDB", () => clients.policy.readNamespacedPodDisruptionBudget({ name: "shop", namespace: ns }));

    await clients.applySite(ns, "shop", siteSpec({ replicas: 3, suspend: true }));
    await waitFor("Deployment scaled to zero", async () => {
      const d = await clients.apps.readNamespacedDeployment({ name: "shop", namespace: ns });
      return d.spec?.replicas === 0 ? true : undefined;
    });
    await waitFor("Ingress removal", () => gone(() => clients.networking.readNamespacedIngress({ name: "shop", namespace: ns })));
    await waitFor("PDB removal", () => gone(() => clients.policy.readNamespacedPodDisruptionBudget({ name: "shop", namespace: ns })));
    const suspended = await waitFor("Suspended status", async () => {
      const s = await clients.getSite(ns, "shop");
      return findCondition(s.status, CONDITION_READY)?.reason === "Suspended" && findCondition(s.status, CONDITION_PROGRESSING)?.reason === "Suspended"
        ? s
        : undefined;
    });
    expect(findCondition(suspended.status, CONDITION_READY)?.message).toContain("suspended");
    // Suspension keeps the Deployment (and its revision history).
    await clients.apps.readNamespacedDeployment({ name: "shop", namespace: ns });

    await clients.applySite(ns, "shop", siteSpec({ replicas: 1 }));
    await waitFor("Ingress back after resume", () => clients.networking.readNamespacedIngress({ name: "shop", namespace: ns }));
  });

  it("restores a deleted child and reverts hand edits", async () => {
    const ns = await createSiteNamespace(kc, "drift");
    await clients.applySite(ns, "wiki", siteSpec());
    const svc = await waitFor("Service", () => clients.core.readNamespacedService({ name: "wiki", namespace: ns }));
    await waitFor("ConfigMap", () => clients.core.readNamespacedConfigMap({ name: "wiki-nginx", namespace: ns }));
    await waitFor("Deployment", () => clients.apps.readNamespacedDeployment({ name: "wiki", namespace: ns }));

    await clients.core.deleteNamespacedService({ name: "wiki", namespace: ns });
    await waitFor("Service re-created", async () => {
      const s = await clients.core.readNamespacedService({ name: "wiki", namespace: ns });
      return s.metadata?.uid !== svc.metadata?.uid ? s : undefined;
    });

    await clients.apps.patchNamespacedDeployment(
      { name: "wiki", namespace: ns, body: { spec: { replicas: 7 } }, fieldManager: "kubectl-edit" },
      setHeaderOptions("Content-Type", "application/merge-patch+json"),
    );
    await clients.core.patchNamespacedConfigMap(
      { name: "wiki-nginx", namespace: ns, body: { data: { "nginx.conf": "# vandalised" } }, fieldManager: "kubectl-edit" },
      setHeaderOptions("Content-Type", "application/merge-patch+json"),
    );
    await waitFor("replicas restored", async () => {
      const d = await clients.apps.readNamespacedDeployment({ name: "wiki", namespace: ns });
      return d.spec?.replicas === 1 ? true : undefined;
    });
    await waitFor("nginx.conf restored", async () => {
      const c = await clients.core.readNamespacedConfigMap({ name: "wiki-nginx", namespace: ns });
      return c.data?.["nginx.conf"]?.includes("listen 8080") ? true : undefined;
    });
  });

  it("lets the garbage collector remove the children of a deleted StaticSite", async () => {
    const ns = await createSiteNamespace(kc, "delete");
    await clients.applySite(ns, "gone", siteSpec({ replicas: 2 }));
    await waitFor("PDB", () => clients.policy.readNamespacedPodDisruptionBudget({ name: "gone", namespace: ns }));
    await waitFor("Deployment", () => clients.apps.readNamespacedDeployment({ name: "gone", namespace: ns }));
    await clients.deleteSite(ns, "gone");
    await waitFor(
      "children to be garbage-collected",
      async () => {
        const [deps, cms, svcs, ings, pdbs] = await Promise.all([
          clients.apps.listNamespacedDeployment({ namespace: ns }),
          clients.core.listNamespacedConfigMap({ namespace: ns, labelSelector: "app.kubernetes.io/managed-by=pagoda" }),
          clients.core.listNamespacedService({ namespace: ns }),
          clients.networking.listNamespacedIngress({ namespace: ns }),
          clients.policy.listNamespacedPodDisruptionBudget({ namespace: ns }),
        ]);
        const left = deps.items.length + cms.items.length + svcs.items.length + ings.items.length + pdbs.items.length;
        return left === 0 ? true : undefined;
      },
      60_000,
    );
  });

  it("refuses invalid specs at the API server with a clear message", async () => {
    const ns = await createSiteNamespace(kc, "invalid");
    const cases: [string, string, Record<string, unknown>, RegExp][] = [
      ["bad-digest", "a", { artifact: { url: "https://x.example/a.tgz", digest: "sha256:XYZ" } }, /spec.artifact.digest/],
      ["no-url", "a", { artifact: { digest: digestOf("a") } }, /spec.artifact.url: Required value/],
      ["bad-host", "a", { ...siteSpec(), hosts: ["not a host"] }, /spec.hosts\[0\]/],
      ["dup-host", "a", { ...siteSpec(), hosts: ["a.pagoda.test", "a.pagoda.test"] }, /Duplicate value/],
      ["too-many", "a", { ...siteSpec(), replicas: 11 }, /spec.replicas.*less than or equal to 10/],
      ["zero", "a", { ...siteSpec(), replicas: 0 }, /spec.replicas.*greater than or equal to 1/],
      ["dotdot", "a", { ...siteSpec(), notFoundPage: "/../secret.html" }, /notFoundPage must not contain \.\./],
      ["relative", "a", { ...siteSpec(), notFoundPage: "404.html" }, /notFoundPage/],
      ["spa-404", "a", { ...siteSpec(), spa: true, notFoundPage: "/404.html" }, /spa and notFoundPage cannot be combined/],
      ["a".repeat(41), "a", siteSpec() as unknown as Record<string, unknown>, /name must be at most 40 characters/],
    ];
    for (const [name, , spec, message] of cases) {
      const err = await clients.custom
        .createNamespacedCustomObject({
          group: "pagoda.dev",
          version: "v1alpha1",
          plural: "staticsites",
          namespace: ns,
          body: { apiVersion: "pagoda.dev/v1alpha1", kind: "StaticSite", metadata: { name }, spec },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err, `${name} should be refused`).toBeDefined();
      expect(httpCode(err), name).toBe(422);
      expect(httpMessage(err), name).toMatch(message);
    }

    await clients.applySite(ns, "fixed", siteSpec({ tenant: "acme" }));
    const change = await clients.applySite(ns, "fixed", siteSpec({ tenant: "other" })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(httpMessage(change)).toMatch(/tenant is immutable/);
  });

  const degraded = (ns: string, name: string, reason: string) =>
    waitFor(`${ns}/${name} Degraded with ${reason}`, async () => {
      const s = await clients.getSite(ns, name);
      const d = findCondition(s.status, CONDITION_DEGRADED);
      return d?.status === "True" && d.reason === reason && s.status?.observedGeneration === s.metadata.generation ? d : undefined;
    });

  it("leaves a StaticSite outside Pagoda's namespaces alone: no children, no status, until the namespace is labelled", async () => {
    const foreign = await createTestNamespace(kc, "foreign");
    const host = uniqueHost("foreign");
    await clients.applySite(foreign, "intruder", siteSpec({ hosts: [host], replicas: 2 }));
    // A site in a Pagoda namespace created afterwards: once it has its children
    // and the queue is empty, the operator has seen both.
    const ours = await createSiteNamespace(kc, "ours");
    await clients.applySite(ours, "home", siteSpec());
    await waitFor("the Pagoda site's Deployment", () => clients.apps.readNamespacedDeployment({ name: "home", namespace: ours }));
    await settled();
    const children = async () => {
      const [deps, cms, svcs, ings, pdbs] = await Promise.all([
        clients.apps.listNamespacedDeployment({ namespace: foreign }),
        clients.core.listNamespacedConfigMap({ namespace: foreign, labelSelector: "app.kubernetes.io/managed-by=pagoda" }),
        clients.core.listNamespacedService({ namespace: foreign }),
        clients.networking.listNamespacedIngress({ namespace: foreign }),
        clients.policy.listNamespacedPodDisruptionBudget({ namespace: foreign }),
      ]);
      return deps.items.length + cms.items.length + svcs.items.length + ings.items.length + pdbs.items.length;
    };
    expect(await children()).toBe(0);
    expect((await clients.getSite(foreign, "intruder")).status).toBeUndefined();
    // Its host claim counts for nothing either: a Pagoda site asking for it gets it.
    const claimant = await createSiteNamespace(kc, "claimant");
    await clients.applySite(claimant, "rightful", siteSpec({ hosts: [host] }));
    const ing = await waitFor("the Pagoda site's Ingress for the host", () =>
      clients.networking.readNamespacedIngress({ name: "rightful", namespace: claimant }),
    );
    expect(ing.spec?.rules?.map((r) => r.host)).toEqual([host]);

    // The namespace is what decides: labelled, the same object is reconciled.
    await clients.core.patchNamespace(
      { name: foreign, body: { metadata: { labels: PAGODA_NAMESPACE_LABELS } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await waitFor("the Deployment once the namespace is Pagoda's", () => clients.apps.readNamespacedDeployment({ name: "intruder", namespace: foreign }));
    // ... and, being the later claimant, it does not get the host.
    await degraded(foreign, "intruder", "HostConflict");
    expect(await gone(() => clients.networking.readNamespacedIngress({ name: "intruder", namespace: foreign }))).toBe(true);
  });

  it("gives a host to its first claimant only; the second is Degraded with HostConflict and takes over when the first goes", async () => {
    // Namespaces sort in creation order, so the tie-break agrees with the timestamps.
    const first = await createSiteNamespace(kc, "hosts-a");
    const second = await createSiteNamespace(kc, "hosts-b");
    const host = uniqueHost("shop");
    const own = uniqueHost("own");
    await clients.applySite(first, "shop", siteSpec({ hosts: [host] }));
    await waitFor("the first claimant's Ingress", () => clients.networking.readNamespacedIngress({ name: "shop", namespace: first }));
    // Created in this order, and named so that the tie-break (same second) agrees.
    await clients.applySite(second, "grab", siteSpec({ hosts: [host] }));
    await clients.applySite(second, "with-own", siteSpec({ hosts: [host, own] }));

    const conflict = await degraded(second, "grab", "HostConflict");
    expect(conflict.message).toContain(host);
    // Another tenant's site is never named to the loser.
    expect(conflict.message).not.toContain(first);
    expect(await gone(() => clients.networking.readNamespacedIngress({ name: "grab", namespace: second }))).toBe(true);
    // A site that holds one host and loses another serves only the one it holds.
    await degraded(second, "with-own", "HostConflict");
    const withOwn = await clients.networking.readNamespacedIngress({ name: "with-own", namespace: second });
    expect(withOwn.spec?.rules?.map((r) => r.host)).toEqual([own]);
    expect((await clients.getSite(second, "with-own")).status?.url).toBe(`http://${own}/`);
    // Only one Ingress in the cluster routes the host.
    const routing = (await clients.networking.listIngressForAllNamespaces()).items.filter((i) => i.spec?.rules?.some((r) => r.host === host));
    expect(routing.map((i) => `${i.metadata?.namespace}/${i.metadata?.name}`)).toEqual([`${first}/shop`]);
    expect(findCondition((await clients.getSite(first, "shop")).status, CONDITION_DEGRADED)?.status).toBe("False");

    await clients.deleteSite(first, "shop");
    const taken = await waitFor("the earliest remaining claimant to take the host over", async () => {
      const ing = await clients.networking.readNamespacedIngress({ name: "grab", namespace: second });
      return ing.spec?.rules?.some((r) => r.host === host) ? ing : undefined;
    });
    expect(taken.spec?.rules?.map((r) => r.host)).toEqual([host]);
    await waitFor("HostConflict to clear on the new holder", async () => {
      const d = findCondition((await clients.getSite(second, "grab")).status, CONDITION_DEGRADED);
      return d?.status === "False" ? true : undefined;
    });
    // "grab" (the earlier claimant) holds it; "with-own" still only serves its own host.
    await settled();
    const still = await clients.networking.readNamespacedIngress({ name: "with-own", namespace: second });
    expect(still.spec?.rules?.map((r) => r.host)).toEqual([own]);
    expect(findCondition((await clients.getSite(second, "with-own")).status, CONDITION_DEGRADED)?.reason).toBe("HostConflict");
  });

  it("refuses hosts outside the base domain and its one-label subdomains", async () => {
    const ns = await createSiteNamespace(kc, "foreign-host");
    const fine = uniqueHost("fine");
    await clients.applySite(ns, "dash", siteSpec({ hosts: ["pagoda.example.com"] }));
    await clients.applySite(ns, "deep", siteSpec({ hosts: [`a.b.${TEST_BASE_DOMAIN}`, fine] }));
    const refused = await degraded(ns, "dash", "HostNotAllowed");
    expect(refused.message).toContain("pagoda.example.com");
    expect(refused.message).toContain(TEST_BASE_DOMAIN);
    expect(await gone(() => clients.networking.readNamespacedIngress({ name: "dash", namespace: ns }))).toBe(true);
    await degraded(ns, "deep", "HostNotAllowed");
    const ing = await clients.networking.readNamespacedIngress({ name: "deep", namespace: ns });
    expect(ing.spec?.rules?.map((r) => r.host)).toEqual([fine]);
    // The workload itself still runs; only the exposure is withheld.
    await clients.apps.readNamespacedDeployment({ name: "dash", namespace: ns });
  });

  it("hands over leadership: a second instance waits, then takes over when the first stops", async () => {
    const second = await startOperator({ ...config, identity: `${config.identity}-b` });
    try {
      const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: config.leaseName, namespace: config.leaseNamespace });
      expect(lease.spec?.holderIdentity).toBe(config.identity);
      expect(second.isLeader()).toBe(false);
      expect(operator.isLeader()).toBe(true);
      await operator.stop();
      await waitFor("the second instance to lead", async () => (second.isLeader() ? true : undefined), 15_000);
      const ns = await createSiteNamespace(kc, "handover");
      await clients.applySite(ns, "next", siteSpec());
      await waitFor("Deployment from the new leader", () => clients.apps.readNamespacedDeployment({ name: "next", namespace: ns }));
    } finally {
      // Keep the suite's handle pointing at a running operator for afterAll.
      operator = second;
    }
  });
});
