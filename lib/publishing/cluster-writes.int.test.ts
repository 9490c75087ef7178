// The dashboard's side of the cluster against a real API server with the
// StaticSite CRD installed. The dashboard's calls run as a ServiceAccount with
// exactly the permissions docs/dashboard-cluster.md lists; "no write" claims
// are proven with a read-only ServiceAccount, which the API server would
// refuse any write.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { freezableRelay } from "@/tests/support/tcp-relay";
import {
  CONDITION_DEGRADED,
  CONDITION_PROGRESSING,
  CONDITION_READY,
  STATICSITE_GROUP,
  STATICSITE_PLURAL,
  STATICSITE_VERSION,
  type StaticSite,
  type StaticSiteStatus,
} from "@/lib/staticsite/types";
import { KubeApiError } from "@/lib/kube/request";
import {
  applyStatusAsOperator,
  collector,
  DASHBOARD_RULES,
  desiredSite,
  digestOf,
  eventually,
  randomSuffix,
  readStaticSite,
  READ_ONLY_RULES,
  serviceAccountKubeConfig,
} from "./int-test-support";
import { restoreSites } from "./restore";
import { applyStaticSite, deleteStaticSite, desiredStaticSite, ensureTenantNamespace, publishSite } from "./static-sites";
import { sitePhase } from "./site-phase";
import { desiredTenantLimitRange, desiredTenantQuota } from "./tenant-limits";
import { desiredTenantPolicy, type NetworkPolicyObject } from "./tenant-policy";
import { StatusHub } from "./status-hub";
import { sseStream } from "@/lib/http/sse";
import { followSiteStatus } from "./status-stream";

/** A relay to the API server `kc` names, and a kubeconfig like `kc` that goes through it. */
async function relayTo(kc: KubeConfig) {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user) throw new Error("the kubeconfig names no cluster or user");
  const server = new URL(cluster.server);
  const relay = await freezableRelay({ host: server.hostname, port: Number(server.port) });
  const relayed = new KubeConfig();
  relayed.loadFromOptions({
    clusters: [{ ...cluster, server: `https://${server.hostname}:${relay.port}` }],
    users: [user],
    contexts: [{ name: "relay", cluster: cluster.name, user: user.name }],
    currentContext: "relay",
  });
  return { ...relay, kc: relayed };
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** `local-cluster/pagoda-cluster up` on the test cluster's state: starts what is not running. */
function clusterUp(stateDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [path.join(repoRoot, "local-cluster", "pagoda-cluster"), "up"], {
      env: { ...process.env, PAGODA_CLUSTER_DIR: stateDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

const coords = { group: STATICSITE_GROUP, version: STATICSITE_VERSION, plural: STATICSITE_PLURAL };
const T = "2026-11-21T10:00:00Z";

function liveStatus(digest: string, generation: number): StaticSiteStatus {
  const c = (type: "Ready" | "Progressing" | "Degraded", status: "True" | "False", reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    observedGeneration: generation,
    lastTransitionTime: T,
  });
  return {
    observedGeneration: generation,
    conditions: [
      c(CONDITION_READY, "True", "Available", "1 of 1 replicas serving"),
      c(CONDITION_PROGRESSING, "False", "RolloutComplete", "rolled out"),
      c(CONDITION_DEGRADED, "False", "AsExpected", "No problems found"),
    ],
    replicas: 1,
    readyReplicas: 1,
    url: "http://example.test",
    currentDigest: digest,
    shortDigest: digest.slice(7, 19),
  };
}

describe("dashboard cluster access against a real API server", () => {
  let cluster: TestCluster;
  let admin: KubeConfig;
  let kc: KubeConfig;
  let readOnly: KubeConfig;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;

  beforeAll(async () => {
    cluster = await startTestCluster();
    admin = new KubeConfig();
    admin.loadFromFile(cluster.kubeconfigPath);
    custom = admin.makeApiClient(CustomObjectsApi);
    core = admin.makeApiClient(CoreV1Api);
    kc = await serviceAccountKubeConfig(admin, "pagoda-dashboard", DASHBOARD_RULES);
    readOnly = await serviceAccountKubeConfig(admin, "pagoda-read-only", READ_ONLY_RULES);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  const readSite = async (namespace: string, name: string) => (await custom.getNamespacedCustomObject({ ...coords, namespace, name })) as StaticSite;

  it("creates the tenant namespace, labelled, once", async () => {
    const tenant = `ns-${randomSuffix()}`;
    const first = await ensureTenantNamespace(kc, tenant);
    expect(first.written).toBe(true);
    const ns = await core.readNamespace({ name: `pagoda-${tenant}` });
    expect(ns.metadata?.labels).toMatchObject({
      "app.kubernetes.io/managed-by": "pagoda",
      "pagoda.dev/tenant": tenant,
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "v1.35",
    });
    expect(ns.metadata?.managedFields?.some((f) => f.manager === "pagoda-dashboard" && f.operation === "Apply")).toBe(true);
    // Its quota and limit range, sized for the default site quota.
    const quota = await core.readNamespacedResourceQuota({ name: "pagoda-tenant", namespace: `pagoda-${tenant}` });
    expect(quota.spec?.hard).toEqual(desiredTenantQuota(`pagoda-${tenant}`).spec?.hard);
    const range = await core.readNamespacedLimitRange({ name: "pagoda-tenant", namespace: `pagoda-${tenant}` });
    expect(range.spec?.limits).toEqual(desiredTenantLimitRange(`pagoda-${tenant}`).spec?.limits);
    // Deleted by hand, they come back with the next call (and restore).
    await core.deleteNamespacedResourceQuota({ name: "pagoda-tenant", namespace: `pagoda-${tenant}` });
    expect((await ensureTenantNamespace(kc, tenant)).written).toBe(true);
    const back = await core.readNamespacedResourceQuota({ name: "pagoda-tenant", namespace: `pagoda-${tenant}` });
    expect(back.spec?.hard).toEqual(quota.spec?.hard);
    const nsNow = await core.readNamespace({ name: `pagoda-${tenant}` });

    const second = await ensureTenantNamespace(readOnly, tenant);
    expect(second.written).toBe(false);
    expect(second.object.metadata?.resourceVersion).toBe(nsNow.metadata?.resourceVersion);
  });

  it("applies a StaticSite with labels and field manager, writes nothing when it matches, and applies a change", async () => {
    const tenant = `apply-${randomSuffix()}`;
    await ensureTenantNamespace(kc, tenant);
    const desired = desiredStaticSite(desiredSite(tenant, "blog"));

    const created = await applyStaticSite(kc, desired);
    expect(created.written).toBe(true);
    const stored = await readSite(`pagoda-${tenant}`, "blog");
    expect(stored.metadata.labels).toEqual({
      "app.kubernetes.io/managed-by": "pagoda",
      "app.kubernetes.io/name": "blog",
      "pagoda.dev/tenant": tenant,
      "pagoda.dev/site-id": `site-${tenant}-blog`,
    });
    expect(stored.spec).toEqual({ ...desired.spec, replicas: 1 });
    const managers = stored.metadata.managedFields ?? [];
    expect(managers.map((f) => `${f.manager}/${f.operation}`)).toEqual(["pagoda-dashboard/Apply"]);
    expect(JSON.stringify(managers[0]?.fieldsV1)).toContain("f:artifact");

    // Same desired state: read and compare only. With read-only credentials
    // any write would be refused, so success proves there was none.
    const again = await applyStaticSite(readOnly, desired);
    expect(again.written).toBe(false);
    expect((await readSite(`pagoda-${tenant}`, "blog")).metadata.resourceVersion).toBe(stored.metadata.resourceVersion);

    const next = desiredStaticSite(desiredSite(tenant, "blog", { artifact: { url: "http://127.0.0.1:9/b", digest: digestOf("b") } }));
    const changed = await applyStaticSite(kc, next);
    expect(changed.written).toBe(true);
    expect(changed.object.spec.artifact).toEqual({ url: "http://127.0.0.1:9/b", digest: digestOf("b") });
    expect(changed.object.metadata.generation).toBe(2);
    expect(changed.object.metadata.resourceVersion).not.toBe(stored.metadata.resourceVersion);
  });

  it("puts its own fields back after a hand edit and leaves the editor's other fields alone", async () => {
    const tenant = `edit-${randomSuffix()}`;
    await ensureTenantNamespace(kc, tenant);
    const desired = desiredStaticSite(desiredSite(tenant, "docs"));
    await applyStaticSite(kc, desired);
    // What `kubectl edit` would do: another manager changes our field and adds its own.
    await custom.patchNamespacedCustomObject(
      {
        ...coords,
        namespace: `pagoda-${tenant}`,
        name: "docs",
        body: { spec: { artifact: { digest: digestOf("c") }, suspend: true, replicas: 3 } },
        fieldManager: "kubectl-edit",
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const repaired = await applyStaticSite(kc, desired);
    expect(repaired.written).toBe(true);
    expect(repaired.object.spec).toEqual({ ...desired.spec, suspend: true, replicas: 3 });
    // Repaired for good: the next call has nothing to do.
    expect((await applyStaticSite(readOnly, desired)).written).toBe(false);
  });

  it("keeps extra hosts applied by other field managers through restore and a new publish, and takes back spa, notFoundPage and rules", async () => {
    const tenant = `gitops-${randomSuffix()}`;
    const namespace = `pagoda-${tenant}`;
    const app = desiredSite(tenant, "app");
    const docs = desiredSite(tenant, "docs", { notFoundPage: "/404.html" });
    const ownHost = `app-${tenant}.pagoda.test`;
    // Also removes what earlier tests left, so that the read-only pass below has no orphan to delete.
    expect((await restoreSites(kc, [app, docs])).errors).toEqual([]);
    const applyAs = (fieldManager: string, name: string, spec: Record<string, unknown>, force = false) =>
      custom.patchNamespacedCustomObject(
        {
          ...coords,
          namespace,
          name,
          body: { apiVersion: "pagoda.dev/v1alpha1", kind: "StaticSite", metadata: { name, namespace }, spec },
          fieldManager,
          force,
        },
        setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
      );
    await applyAs("kubectl", "app", { hosts: ["www.example.org"] });

    // Nothing of the dashboard's changed, so a restore pass sees nothing to do:
    // with read-only credentials, any write would be an error.
    const steady = await restoreSites(readOnly, [app, docs]);
    expect(steady).toMatchObject({ applied: 0, unchanged: 2, deleted: 0, errors: [] });
    expect((await readSite(namespace, "app")).spec).toMatchObject({ spa: false, hosts: [ownHost, "www.example.org"] });
    expect((await readSite(namespace, "docs")).spec.notFoundPage).toBe("/404.html");

    // A promote writes the dashboard's fields and only those.
    const promoted = { url: "http://127.0.0.1:9/b", digest: digestOf("b") };
    const appNext = { ...app, artifact: promoted };
    const docsNext = { ...docs, artifact: promoted };
    const published = await publishSite(kc, appNext);
    expect(published.written).toBe(true);
    expect(published.object.spec).toMatchObject({ artifact: promoted, spa: false, hosts: [ownHost, "www.example.org"] });
    expect((await publishSite(kc, docsNext)).object.spec).toMatchObject({ artifact: promoted, notFoundPage: "/404.html" });

    // Hand edits of what the dashboard owns are put back: spa switched on with
    // kubectl, a 404 page and rules added where the site has none (by an
    // apply and by an edit), another manager forcing the artifact over, and
    // an edit that drops the dashboard's host.
    await applyAs("kubectl", "app", { hosts: ["www.example.org"], spa: true }, true);
    await applyAs("gitops", "docs", { notFoundPage: "/other.html", artifact: { url: "http://127.0.0.1:9/c", digest: digestOf("c") } }, true);
    await custom.patchNamespacedCustomObject(
      {
        ...coords,
        namespace,
        name: "app",
        body: { spec: { hosts: ["www.example.org"], rules: { redirects: "/* https://evil.example/ 302" } } },
        fieldManager: "kubectl-edit",
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const repaired = await restoreSites(kc, [appNext, docsNext]);
    expect(repaired).toMatchObject({ applied: 2, errors: [] });
    expect((await readSite(namespace, "docs")).spec).toMatchObject({ artifact: promoted, notFoundPage: "/404.html" });
    const appLive = await readSite(namespace, "app");
    expect(appLive.spec.spa).toBe(false);
    expect(appLive.spec.rules).toBeUndefined();
    expect([...(appLive.spec.hosts ?? [])].sort()).toEqual([ownHost, "www.example.org"].sort());
    expect(await restoreSites(readOnly, [appNext, docsNext])).toMatchObject({ applied: 0, unchanged: 2, errors: [] });

    // A 404 page set by another manager where the site turns spa on is removed
    // first: the API server refuses spa next to notFoundPage.
    await applyAs("gitops", "app", { notFoundPage: "/404.html" });
    const spaOn = await publishSite(kc, { ...appNext, spa: true });
    expect(spaOn.object.spec).toMatchObject({ spa: true });
    expect(spaOn.object.spec.notFoundPage).toBeUndefined();
    expect((await publishSite(readOnly, { ...appNext, spa: true })).written).toBe(false);

    // The rules of the promoted deploy come and go with it.
    const withRules = { ...appNext, rules: { redirects: "/old /new 301\n", headers: null } };
    expect((await publishSite(kc, withRules)).object.spec.rules).toEqual({ redirects: "/old /new 301\n" });
    expect((await publishSite(kc, appNext)).object.spec.rules).toBeUndefined();

    // A new base domain replaces the dashboard's entry and leaves the other manager's.
    const moved = await publishSite(kc, { ...appNext, baseDomain: "moved.test" });
    expect([...(moved.object.spec.hosts ?? [])].sort()).toEqual([`app-${tenant}.moved.test`, "www.example.org"]);
  });

  it("publishes a site (namespace + StaticSite) in one call, and repeats it without writing", async () => {
    const tenant = `pub-${randomSuffix()}`;
    const first = await publishSite(kc, desiredSite(tenant, "home"));
    expect(first.written).toBe(true);
    expect(first.object.metadata.namespace).toBe(`pagoda-${tenant}`);
    const again = await publishSite(readOnly, desiredSite(tenant, "home"));
    expect(again.written).toBe(false);
    expect(again.object.metadata.resourceVersion).toBe(first.object.metadata.resourceVersion);
  });

  it("surfaces the API server's refusal as a clear error", async () => {
    const tenant = `invalid-${randomSuffix()}`;
    await ensureTenantNamespace(kc, tenant);
    const desired = desiredStaticSite(desiredSite(tenant, "spa"));
    // The builder never makes this; the CRD's CEL rule refuses it.
    const refused = { ...desired, spec: { ...desired.spec, spa: true, notFoundPage: "/404.html" } };
    const err = await applyStaticSite(kc, refused).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KubeApiError);
    const e = err as KubeApiError;
    expect(e.statusCode).toBe(422);
    expect(e.invalid).toBe(true);
    expect(e.reason).toBe("Invalid");
    expect(e.message).toContain(`applying StaticSite pagoda-${tenant}/spa: HTTP 422`);
    expect(e.message).toContain("spa and notFoundPage cannot be combined");
    expect(e.fields.some((f) => f.field === "spec")).toBe(true);
    expect(await readStaticSite(kc, tenant, "spa")).toBeNull();
  });

  it("deletes a StaticSite and tolerates one that is already gone", async () => {
    const tenant = `del-${randomSuffix()}`;
    await ensureTenantNamespace(kc, tenant);
    await applyStaticSite(kc, desiredStaticSite(desiredSite(tenant, "gone")));
    expect(await deleteStaticSite(kc, tenant, "gone")).toBe(true);
    expect(await readStaticSite(kc, tenant, "gone")).toBeNull();
    expect(await deleteStaticSite(kc, tenant, "gone")).toBe(false);
  });

  it("restores the cluster from the desired list: missing sites, orphans, and nothing in steady state", async () => {
    const t1 = `r1-${randomSuffix()}`;
    const t2 = `r2-${randomSuffix()}`;
    const desired = [desiredSite(t1, "blog"), desiredSite(t1, "shop"), desiredSite(t2, "docs")];

    // Restore is cluster-wide: with nothing desired, every site written by the
    // dashboard (this one, and those of the tests above) is an orphan.
    await publishSite(kc, desiredSite(`left-${randomSuffix()}`, "leftover"));
    const wipe = await restoreSites(kc, []);
    expect(wipe.errors).toEqual([]);
    expect(wipe.deleted).toBeGreaterThan(0);
    expect(((await custom.listClusterCustomObject({ ...coords, labelSelector: "pagoda.dev/site-id" })) as { items: unknown[] }).items).toEqual([]);

    const first = await restoreSites(kc, desired);
    expect(first).toEqual({ applied: 3, skipped: 0, unchanged: 0, deleted: 0, namespacesApplied: 2, errors: [] });
    for (const d of desired) expect(await readStaticSite(kc, d.tenantSlug, d.siteName)).not.toBeNull();

    // Steady state with credentials that cannot write: no errors means no writes.
    const steady = await restoreSites(readOnly, desired);
    expect(steady.errors).toEqual([]);
    expect(steady.applied + steady.deleted + steady.namespacesApplied).toBe(0);
    expect(steady.unchanged).toBeGreaterThanOrEqual(3);

    // A StaticSite deleted by hand comes back.
    await custom.deleteNamespacedCustomObject({ ...coords, namespace: `pagoda-${t1}`, name: "shop" });
    const restored = await restoreSites(kc, desired);
    expect(restored.applied).toBe(1);
    expect(restored.errors).toEqual([]);
    expect((await readStaticSite(kc, t1, "shop"))?.metadata.labels?.["pagoda.dev/site-id"]).toBe(`site-${t1}-shop`);

    // A site whose row is gone is an orphan; a StaticSite made by hand (no site id) is not ours.
    await applyStaticSite(kc, desiredStaticSite(desiredSite(t2, "old", { siteId: "deleted-row" })));
    await custom.createNamespacedCustomObject({
      ...coords,
      namespace: `pagoda-${t2}`,
      body: {
        apiVersion: "pagoda.dev/v1alpha1",
        kind: "StaticSite",
        metadata: { name: "manual", namespace: `pagoda-${t2}`, labels: { "app.kubernetes.io/managed-by": "pagoda" } },
        spec: { artifact: { url: "http://127.0.0.1:9/m", digest: digestOf("d") } },
      },
    });
    const cleaned = await restoreSites(kc, desired);
    expect(cleaned.deleted).toBe(1);
    expect(cleaned.errors).toEqual([]);
    expect(await readStaticSite(kc, t2, "old")).toBeNull();
    expect(await readStaticSite(kc, t2, "manual")).not.toBeNull();

    // A promoted rollback is a spec change like any other.
    const rolledBack = desired.map((d) => (d.siteName === "docs" ? { ...d, artifact: { url: "http://127.0.0.1:9/e", digest: digestOf("e") } } : d));
    const afterRollback = await restoreSites(kc, rolledBack);
    expect(afterRollback).toMatchObject({ applied: 1, deleted: 0, errors: [] });
    expect((await readStaticSite(kc, t2, "docs"))?.spec.artifact.digest).toBe(digestOf("e"));
  });

  it("never overwrites or deletes what changed while it ran", async () => {
    const tenant = `race-${randomSuffix()}`;
    const site = desiredSite(tenant, "site");
    const promoted = { ...site, artifact: { url: "http://127.0.0.1:9/b", digest: digestOf("b") } };
    const orphan = desiredSite(tenant, "orphan");
    await restoreSites(kc, [site, orphan]);
    // Drift in a field of the dashboard's, so that restore has something to write for `site`.
    await custom.patchNamespacedCustomObject(
      { ...coords, namespace: `pagoda-${tenant}`, name: "site", body: { spec: { artifact: { digest: digestOf("d") } } }, fieldManager: "kubectl-edit" },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );

    const result = await restoreSites(kc, async () => {
      // Between restore's read of the cluster and its writes: a promote of
      // `site`, a change to the soon-orphaned object, a brand-new site.
      await publishSite(kc, promoted);
      await publishSite(kc, { ...orphan, artifact: { url: "http://127.0.0.1:9/c", digest: digestOf("c") } });
      await publishSite(kc, desiredSite(tenant, "fresh"));
      // A database read from before the promote.
      return [site];
    });
    expect(result).toMatchObject({ skipped: 2, applied: 0, deleted: 0, errors: [] });
    expect((await readStaticSite(kc, tenant, "site"))?.spec.artifact.digest).toBe(digestOf("b"));
    expect(await readStaticSite(kc, tenant, "orphan")).not.toBeNull();
    expect(await readStaticSite(kc, tenant, "fresh")).not.toBeNull();
  });

  it("collects per-site errors with context and carries on with the others", async () => {
    const tenant = `err-${randomSuffix()}`;
    await ensureTenantNamespace(kc, tenant);
    // A StaticSite made for another tenant slug: the CRD makes spec.tenant immutable.
    await custom.createNamespacedCustomObject({
      ...coords,
      namespace: `pagoda-${tenant}`,
      body: {
        apiVersion: "pagoda.dev/v1alpha1",
        kind: "StaticSite",
        metadata: { name: "stuck", namespace: `pagoda-${tenant}`, labels: { "app.kubernetes.io/managed-by": "pagoda", "pagoda.dev/site-id": "s-stuck" } },
        spec: { artifact: { url: "http://127.0.0.1:9/s", digest: digestOf("a") }, tenant: "someone-else" },
      },
    });
    // Live already; its row now holds a value we cannot write. Report it, keep the site.
    await applyStaticSite(kc, desiredStaticSite(desiredSite(tenant, "bad")));
    const result = await restoreSites(kc, [
      desiredSite(tenant, "stuck", { siteId: "s-stuck" }),
      desiredSite(tenant, "fine"),
      desiredSite(tenant, "bad", { artifact: { url: "http://127.0.0.1:9/x", digest: "md5:nope" } }),
    ]);
    expect(result.applied).toBe(1);
    expect(result.errors).toHaveLength(2);
    expect(result.errors).toContainEqual(
      expect.objectContaining({
        action: "apply",
        siteId: "s-stuck",
        namespace: `pagoda-${tenant}`,
        name: "stuck",
        statusCode: 422,
        message: expect.stringContaining("tenant is immutable"),
      }),
    );
    expect(result.errors).toContainEqual(
      expect.objectContaining({ action: "build", siteId: `site-${tenant}-bad`, message: expect.stringContaining("artifact.digest") }),
    );
    expect(await readStaticSite(kc, tenant, "fine")).not.toBeNull();
    expect(await readStaticSite(kc, tenant, "bad")).not.toBeNull();
  });

  it("lets site pods out to the proxy origins only when proxying is on, in a policy the API server keeps as written", async () => {
    const policy = { ingressNamespace: "ingress-nginx", dashboardNamespace: "pagoda", proxyOrigins: ["https://api.example.com", "http://10.0.0.5:8080"] };
    const tenant = `npx-${randomSuffix()}`;
    const namespace = `pagoda-${tenant}`;
    await ensureTenantNamespace(kc, tenant, policy);
    const live = (await custom.getNamespacedCustomObject({
      group: "networking.k8s.io",
      version: "v1",
      plural: "networkpolicies",
      namespace,
      name: "pagoda-sites",
    })) as NetworkPolicyObject;
    // Stored exactly as desired, so the next pass finds nothing to write.
    expect(live.spec).toEqual(desiredTenantPolicy(namespace, policy).spec);
    expect((await ensureTenantNamespace(readOnly, tenant, policy)).written).toBe(false);
    expect(JSON.stringify(live.spec)).toContain('"cidr":"10.0.0.5/32"');
  });

  it("gives a tenant namespace its NetworkPolicy when configured: once, puts back hand edits, and restore keeps it", async () => {
    const policy = { ingressNamespace: "ingress-nginx", dashboardNamespace: "pagoda" };
    const tenant = `np-${randomSuffix()}`;
    const namespace = `pagoda-${tenant}`;
    const site = desiredSite(tenant, "blog", { tenantPolicy: policy });
    const policyCoords = { group: "networking.k8s.io", version: "v1", plural: "networkpolicies", namespace, name: "pagoda-sites" };
    const readPolicy = async () => (await custom.getNamespacedCustomObject(policyCoords)) as NetworkPolicyObject;

    await publishSite(kc, site);
    const written = await readPolicy();
    expect(written.metadata.labels).toMatchObject({ "app.kubernetes.io/managed-by": "pagoda" });
    expect(written.spec).toEqual({
      podSelector: { matchLabels: { "app.kubernetes.io/managed-by": "pagoda" } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }], ports: [{ protocol: "TCP", port: "http" }] },
      ],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
          ports: [
            { protocol: "UDP", port: 53 },
            { protocol: "TCP", port: 53 },
          ],
        },
        {
          to: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "pagoda" } },
              podSelector: { matchLabels: { "app.kubernetes.io/name": "pagoda-dashboard" } },
            },
          ],
          ports: [{ protocol: "TCP", port: "http" }],
        },
      ],
    });
    // Again, with credentials that cannot write: nothing to write.
    expect((await ensureTenantNamespace(readOnly, tenant, policy)).written).toBe(false);

    // Someone opens the sites to every namespace by hand: put back.
    await custom.patchNamespacedCustomObject(
      { ...policyCoords, body: [{ op: "replace", path: "/spec/ingress/0/from", value: [{ namespaceSelector: {} }] }] },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    expect((await ensureTenantNamespace(kc, tenant, policy)).written).toBe(true);
    expect((await readPolicy()).spec).toEqual(written.spec);

    // Deleted by hand: restore brings it back, then has nothing to do.
    await custom.deleteNamespacedCustomObject(policyCoords);
    const restored = await restoreSites(kc, [site]);
    expect(restored).toMatchObject({ namespacesApplied: 1, errors: [] });
    expect((await readPolicy()).spec).toEqual(written.spec);
    const steady = await restoreSites(readOnly, [site]);
    expect(steady).toMatchObject({ applied: 0, deleted: 0, namespacesApplied: 0, errors: [] });

    // Not configured: no policy.
    const bare = `np-off-${randomSuffix()}`;
    await publishSite(kc, desiredSite(bare, "blog"));
    await expect(custom.getNamespacedCustomObject({ ...policyCoords, namespace: `pagoda-${bare}` })).rejects.toMatchObject({ code: 404 });
  });

  describe("status hub", () => {
    let hub: StatusHub;

    beforeAll(async () => {
      hub = new StatusHub(kc, { backoffBaseMs: 100, backoffMaxMs: 1_000 });
      hub.start();
      await hub.whenSynced();
    });

    afterAll(async () => {
      await hub?.stop();
    });

    it("delivers status written by the operator to subscribers, and sitePhase reads it as Live", async () => {
      expect(hub.healthy()).toBe(true);
      const tenant = `hub-${randomSuffix()}`;
      await ensureTenantNamespace(kc, tenant);
      const desired = desiredStaticSite(desiredSite(tenant, "www"));
      // A broken subscriber (say, a closed stream) must not starve the others.
      const unsubscribeBroken = hub.subscribe(desired.metadata.namespace, "www", () => {
        throw new Error("stream closed");
      });
      const updates = collector<StaticSite | null>();
      const unsubscribe = hub.subscribe(desired.metadata.namespace, "www", (ss) => updates.push(ss));

      const { object } = await applyStaticSite(kc, desired);
      const added = await updates.waitFor("the new StaticSite", (ss) => ss?.metadata.uid === object.metadata.uid);
      expect(sitePhase(added, digestOf("a")).phase).toBe("Pending");
      expect(hub.get(desired.metadata.namespace, "www")?.metadata.managedFields).toBeUndefined();

      await applyStatusAsOperator(admin, desired, liveStatus(digestOf("a"), 1));
      const live = await updates.waitFor("status from the operator", (ss) => ss?.status?.currentDigest === digestOf("a"));
      expect(sitePhase(live, digestOf("a"))).toMatchObject({ phase: "Live", readyReplicas: 1, url: "http://example.test" });
      expect(sitePhase(hub.get(desired.metadata.namespace, "www"), digestOf("a")).phase).toBe("Live");

      await deleteStaticSite(kc, tenant, "www");
      await updates.waitFor("the deletion", (ss) => ss === null);
      expect(hub.get(desired.metadata.namespace, "www")).toBeNull();

      unsubscribe();
      unsubscribeBroken();
      const before = updates.seen.length;
      await applyStaticSite(kc, desired);
      await eventually("the hub to see the re-created site", () => hub.get(desired.metadata.namespace, "www") ?? undefined);
      expect(updates.seen.length).toBe(before);
      expect(hub.stats().subscribers).toBe(0);
    });

    it("streams a site's phase as server-sent events and unsubscribes when the browser leaves", async () => {
      const tenant = `sse-${randomSuffix()}`;
      const input = desiredSite(tenant, "feed");
      const desired = desiredStaticSite(input);
      await publishSite(kc, input);
      await eventually("the site in the hub", () => hub.get(desired.metadata.namespace, "feed") ?? undefined);
      const { subscribers: subscribersBefore, healthSubscribers: healthBefore } = hub.stats();
      let lookups = 0;
      let promoted = digestOf("a");
      const browser = new AbortController();
      const stream = sseStream(
        browser.signal,
        ({ send, onClose }) => {
          const expectedDigest = async () => {
            lookups++;
            return promoted;
          };
          onClose(followSiteStatus(hub, { namespace: desired.metadata.namespace, name: "feed", expectedDigest }, send));
        },
        { keepaliveMs: 100 },
      );
      const chunks = collector<string>();
      const reader = stream.getReader();
      const decoder = new TextDecoder();
      const reading = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          chunks.push(decoder.decode(value));
        }
      })();
      const phaseOf = (chunk: string) => {
        const m = /^event: phase\ndata: (.*)\n\n$/.exec(chunk);
        return m ? (JSON.parse(m[1] ?? "null") as { phase: string; healthy: boolean; currentDigest: string | null }) : undefined;
      };

      const first = await chunks.waitFor("the first phase", (c) => phaseOf(c) !== undefined);
      expect(phaseOf(first)).toMatchObject({ phase: "Pending", healthy: true });
      await applyStatusAsOperator(admin, desired, liveStatus(digestOf("a"), 1));
      await chunks.waitFor("the Live phase", (c) => phaseOf(c)?.phase === "Live");
      await chunks.waitFor("a heartbeat", (c) => c === ": ping\n\n");

      // Promoted elsewhere: the spec's digest changes, the stream asks Postgres again.
      promoted = digestOf("b");
      await publishSite(kc, { ...input, artifact: { url: "http://127.0.0.1:9/b", digest: digestOf("b") } });
      await chunks.waitFor("a phase for the new deploy", (c) => phaseOf(c)?.phase === "Pending" && phaseOf(c)?.currentDigest === digestOf("a"));
      expect(lookups).toBe(2);

      browser.abort();
      await reading;
      expect(hub.stats()).toMatchObject({ subscribers: subscribersBefore, healthSubscribers: healthBefore });
    });

    it("reconnects after the watch connection drops and misses nothing", async () => {
      const tenant = `drop-${randomSuffix()}`;
      await ensureTenantNamespace(kc, tenant);
      const desired = desiredStaticSite(desiredSite(tenant, "app"));
      await applyStaticSite(kc, desired);
      const relay = await relayTo(kc);
      const relayed = new StatusHub(relay.kc, { backoffBaseMs: 100, backoffMaxMs: 1_000 });
      relayed.start();
      try {
        await relayed.whenSynced();
        await eventually("the site in the hub", () => relayed.get(desired.metadata.namespace, "app") ?? undefined);
        await eventually("the hub's watch to be connected", () => (relayed.stats().connected ? true : undefined));
        const updates = collector<StaticSite | null>();
        relayed.subscribe(desired.metadata.namespace, "app", (ss) => updates.push(ss));
        const watchesBefore = relayed.stats().watchesStarted;

        // Written while the hub's connection hangs, which then breaks: it must still arrive.
        relay.freeze();
        await applyStatusAsOperator(admin, desired, liveStatus(digestOf("a"), 1));
        relay.thaw();
        await updates.waitFor("status written during the outage", (ss) => ss?.status?.currentDigest === digestOf("a"));
        expect(relayed.stats().watchesStarted).toBeGreaterThan(watchesBefore);
        await eventually("the hub to be connected again", () => (relayed.stats().connected ? true : undefined));
        expect(relayed.healthy()).toBe(true);
      } finally {
        await relayed.stop();
        await relay.close();
      }
    });

    it("resumes a quiet watch after the client's 30 s inactivity limit without counting a failure", async () => {
      const before = hub.stats();
      const flips: boolean[] = [];
      const unsubscribe = hub.onHealthChange((h) => flips.push(h));
      try {
        await eventually("the quiet watch to be resumed", () => (hub.stats().watchesStarted > before.watchesStarted ? true : undefined), 50_000);
        await eventually("the resumed watch to connect", () => (hub.stats().connected ? true : undefined));
      } finally {
        unsubscribe();
      }
      const after = hub.stats();
      expect(after.failures).toBe(0);
      expect(after.lists).toBe(before.lists);
      // Healthy throughout: a person watching a site sees no "may be out of date" blink.
      expect(flips).toEqual([]);
      expect(hub.healthy()).toBe(true);
    }, 60_000);

    // Last: it restarts the API server under everything else.
    it("survives an API server restart: unhealthy while it is down, then relists after 410 Gone and catches up, deletions included", async () => {
      const tenant = `restart-${randomSuffix()}`;
      const desired = desiredStaticSite(desiredSite(tenant, "site"));
      await publishSite(kc, desiredSite(tenant, "site"));
      await publishSite(kc, desiredSite(tenant, "drop"));
      // Through a relay that can hang, so that changes can be made that the hub does not see before the restart.
      const relay = await relayTo(kc);
      const hub2 = new StatusHub(relay.kc, { staleAfterMs: 1_000, backoffBaseMs: 100, backoffMaxMs: 1_000 });
      const health = collector<boolean>();
      hub2.onHealthChange((h) => health.push(h));
      hub2.start();
      try {
        await hub2.whenSynced();
        await health.waitFor("healthy", (h) => h);
        await eventually("both sites in the hub", () => (hub2.list(desired.metadata.namespace).length === 2 ? true : undefined));
        const updates = collector<StaticSite | null>();
        hub2.subscribe(desired.metadata.namespace, "site", (ss) => updates.push(ss));
        const changes = collector<[string, StaticSite | null]>();
        hub2.subscribeNamespace(desired.metadata.namespace, (name, ss) => changes.push([name, ss]));

        // Changed while the hub hears nothing: after the restart, the API server
        // keeps no history from before it, so the hub's resourceVersion is too old (410 Gone).
        relay.freeze();
        await applyStatusAsOperator(admin, desired, { ...liveStatus(digestOf("a"), 1), readyReplicas: 0 });
        await deleteStaticSite(kc, tenant, "drop");
        const before = hub2.stats();

        const port = Number(new URL(cluster.server).port);
        const pid = Number((await readFile(path.join(cluster.stateDir, "run", "kube-apiserver.pid"), "utf8")).trim());
        process.kill(pid, "SIGKILL");
        await eventually("the API server to be gone", async () => ((await portClosed(port)) ? true : undefined));
        relay.thaw();
        await health.waitFor("unhealthy while the API server is down", (h) => !h);
        expect(hub2.healthy()).toBe(false);
        // The cached state stays readable, and restore reports instead of throwing.
        expect(hub2.get(desired.metadata.namespace, "site")).not.toBeNull();
        expect(hub2.get(desired.metadata.namespace, "drop")).not.toBeNull();
        const duringOutage = await restoreSites(kc, [desiredSite(tenant, "site")]);
        expect(duringOutage.errors).toEqual([expect.objectContaining({ action: "list" })]);

        const up = await clusterUp(cluster.stateDir);
        expect(up.code, up.output).toBe(0);
        await changes.waitFor("the status written before the restart", ([name, ss]) => name === "site" && ss?.status?.readyReplicas === 0, 0, 60_000);
        await changes.waitFor("the deletion made before the restart", ([name, ss]) => name === "drop" && ss === null, 0, 60_000);
        expect(hub2.stats().relistsAfterGone).toBeGreaterThan(before.relistsAfterGone);
        expect(hub2.stats().lists).toBeGreaterThan(before.lists);
        expect(hub2.list(desired.metadata.namespace).map((s) => s.metadata.name)).toEqual(["site"]);

        await applyStatusAsOperator(admin, desired, liveStatus(digestOf("a"), 1));
        const live = await updates.waitFor("status written after the restart", (ss) => ss?.status?.readyReplicas === 1, 0, 60_000);
        expect(sitePhase(live, digestOf("a")).phase).toBe("Live");
        await health.waitFor("healthy again", (h) => h, 1, 60_000);
        expect(hub2.stats().failures).toBe(0);
      } finally {
        await hub2.stop();
        await relay.close();
      }
    }, 180_000);

    it("keeps retrying an unreachable API server without throwing, and stops cleanly", async () => {
      const unreachable = new KubeConfig();
      unreachable.loadFromOptions({
        clusters: [{ name: "nowhere", server: "https://127.0.0.1:1", skipTLSVerify: true }],
        users: [{ name: "u", token: "t" }],
        contexts: [{ name: "c", cluster: "nowhere", user: "u" }],
        currentContext: "c",
      });
      const lonely = new StatusHub(unreachable, { backoffBaseMs: 20, backoffMaxMs: 100 });
      lonely.start();
      await eventually("several failed attempts", () => (lonely.stats().failures >= 3 ? true : undefined));
      expect(lonely.healthy()).toBe(false);
      expect(lonely.stats().lastError).toBeTruthy();
      expect(lonely.get("any", "site")).toBeNull();
      await lonely.stop();
      const attempts = lonely.stats().failures;
      await new Promise((r) => setTimeout(r, 300));
      expect(lonely.stats().failures).toBe(attempts);
    });
  });
});
