import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { allDesiredSites } from "@/lib/publishing/site-inputs";
import { trackRollouts } from "@/lib/publishing/rollout-tracker";
import { promoteDeploy } from "@/lib/deploys/promote";
import { uploadDeploy } from "@/lib/deploys/upload";
import { dashboardKubeConfig, getStatusHub, restoreSites, deleteStaticSite, type StatusHub } from "@/lib/publishing";
import { applyStatusAsOperator, eventually, readStaticSite } from "@/lib/publishing/int-test-support";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { CONDITION_DEGRADED, STATICSITE_API_VERSION, STATICSITE_GROUP, STATICSITE_KIND, STATICSITE_PLURAL, STATICSITE_VERSION } from "@/lib/staticsite/types";
import { DEPLOY_ERROR_MAX } from "@/lib/storable";
import { verifyArtifactSignature } from "@/lib/artifacts";
import { signingKey } from "@/lib/artifacts/configured";
import { createSite, deleteSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { buildZip } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";
import { sharedCluster } from "@/tests/support/cluster";

/**
 * The dashboard's duties towards a real API server (no operator here: the
 * tests write status the way the operator does, to drive each transition).
 * Runs on the shared control plane: every tenant has a namespace of its own.
 */
let artifactRoot: string;
let actor: TenantActor;
let hub: StatusHub;

beforeAll(async () => {
  process.env.KUBECONFIG = sharedCluster().kubeconfigPath;
  artifactRoot = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  process.env.PAGODA_ARTIFACT_ROOT = artifactRoot;
  hub = getStatusHub()!;
  await hub.whenSynced();
  ({ actor } = await newAccount("cluster"));
  await createSite(actor, { name: "shop" }, null);
});

afterAll(async () => {
  await hub?.stop();
  await rm(artifactRoot, { recursive: true, force: true });
});

async function upload(html: string) {
  const zip = await buildZip([{ name: "index.html", data: `<h1>${html}</h1>` }]);
  return uploadDeploy(actor, "shop", { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null });
}

async function reportRolledOut(digest: string) {
  const ss = (await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, "shop"))!;
  await applyStatusAsOperator(dashboardKubeConfig(), ss, {
    observedGeneration: ss.metadata.generation ?? 1,
    currentDigest: digest,
    replicas: 1,
    readyReplicas: 1,
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "Available",
        message: "All replicas serve the current deploy.",
        lastTransitionTime: new Date().toISOString(),
        observedGeneration: ss.metadata.generation ?? 1,
      },
    ],
  });
  // The hub sees it through its watch, as in production.
  await eventually("the status hub to see the rollout", async () =>
    hub.get(`pagoda-${actor.tenantSlug}`, "shop")?.status?.currentDigest === digest ? true : undefined,
  );
}

const stateOf = async (id: string) => (await db().deploy.findUniqueOrThrow({ where: { id } })).state;

describe("dashboard and cluster", () => {
  it("publishes an upload as a StaticSite with a signed artifact URL, and marks it live only when rolled out", async () => {
    const first = await upload("one");
    const ss = await eventually("the StaticSite", async () => (await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, "shop")) ?? undefined);
    expect(ss.spec.artifact.digest).toBe(first.digest);
    expect(ss.spec.hosts).toEqual([`shop-${actor.tenantSlug}.pagoda.localhost`]);
    expect(ss.metadata.labels?.["pagoda.dev/tenant"]).toBe(actor.tenantSlug);
    const url = new URL(ss.spec.artifact.url);
    expect(verifyArtifactSignature(url.pathname.split("/").at(-1)!, url.searchParams.get("sig")!, signingKey())).toBe(true);

    await trackRollouts(hub);
    expect(await stateOf(first.id)).toBe("ready");
    await reportRolledOut(first.digest!);
    await trackRollouts(hub);
    expect(await stateOf(first.id)).toBe("live");

    const second = await upload("two");
    expect((await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, "shop"))!.spec.artifact.digest).toBe(second.digest);
    await trackRollouts(hub);
    expect(await stateOf(second.id)).toBe("ready");
    expect(await stateOf(first.id)).toBe("live");
    await reportRolledOut(second.digest!);
    await trackRollouts(hub);
    expect(await stateOf(second.id)).toBe("live");
    expect(await stateOf(first.id)).toBe("superseded");

    // Rollback is promotion of the older deploy.
    await promoteDeploy(actor, "shop", first.id, null);
    expect((await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, "shop"))!.spec.artifact.digest).toBe(first.digest);
    await reportRolledOut(first.digest!);
    await trackRollouts(hub);
    expect(await stateOf(first.id)).toBe("live");
    expect(await stateOf(second.id)).toBe("superseded");
  });

  it("writes the row's spa and notFoundPage through uploads, promotes and restore, and takes them back from kubectl or GitOps", async () => {
    await createSite(actor, { name: "guide" }, null);
    const kc = dashboardKubeConfig();
    const uploadGuide = async (html: string) => {
      const zip = await buildZip([{ name: "index.html", data: `<h1>${html}</h1>` }]);
      return uploadDeploy(actor, "guide", { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null });
    };
    const live = async () => (await readStaticSite(kc, actor.tenantSlug, "guide"))!;
    const first = await uploadGuide("one");
    expect((await live()).spec.spa).toBe(false);
    const namespace = `pagoda-${actor.tenantSlug}`;
    // What `kubectl apply --server-side` or a GitOps controller sends: only its own fields.
    const applyAs = (fieldManager: string, spec: Record<string, unknown>) =>
      kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
        {
          group: STATICSITE_GROUP,
          version: STATICSITE_VERSION,
          plural: STATICSITE_PLURAL,
          namespace,
          name: "guide",
          body: { apiVersion: STATICSITE_API_VERSION, kind: STATICSITE_KIND, metadata: { name: "guide", namespace }, spec },
          fieldManager,
          force: true,
        },
        setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
      );

    // The row says spa: every write carries it.
    await db().site.update({ where: { tenantId_name: { tenantId: actor.tenantId, name: "guide" } }, data: { spa: true } });
    const second = await uploadGuide("two");
    expect((await live()).spec).toMatchObject({ artifact: { digest: second.digest }, spa: true });

    // Hand edits of the dashboard's fields do not last past the next restore.
    await applyAs("kubectl", { spa: false });
    expect((await restoreSites(kc, allDesiredSites)).errors).toEqual([]);
    expect((await live()).spec.spa).toBe(true);

    await db().site.update({ where: { tenantId_name: { tenantId: actor.tenantId, name: "guide" } }, data: { spa: false, notFoundPage: "/404.html" } });
    await promoteDeploy(actor, "guide", first.id, null);
    const rolledBack = await live();
    expect(rolledBack.spec).toMatchObject({ artifact: { digest: first.digest }, spa: false, notFoundPage: "/404.html" });

    await db().site.update({ where: { tenantId_name: { tenantId: actor.tenantId, name: "guide" } }, data: { notFoundPage: null } });
    await applyAs("gitops", { notFoundPage: "/other.html" });
    expect((await restoreSites(kc, allDesiredSites)).errors).toEqual([]);
    expect((await live()).spec.notFoundPage).toBeUndefined();
    await deleteSite(actor, "guide", null);
  });

  it("restores a StaticSite that disappeared from the cluster, from the database", async () => {
    await deleteStaticSite(dashboardKubeConfig(), actor.tenantSlug, "shop");
    await eventually("the StaticSite to be gone", async () =>
      (await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, "shop")) === null ? true : undefined,
    );
    const result = await restoreSites(dashboardKubeConfig(), allDesiredSites);
    expect(result.errors).toEqual([]);
    expect(result.applied).toBeGreaterThanOrEqual(1);
    const target = (await db().site.findFirstOrThrow({ where: { tenantId: actor.tenantId, name: "shop" }, include: { targetDeploy: true } })).targetDeploy!;
    expect((await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, "shop"))!.spec.artifact.digest).toBe(target.digest);
    // A second pass finds nothing to do.
    const again = await restoreSites(dashboardKubeConfig(), allDesiredSites);
    expect(again.applied).toBe(0);
  });

  it("takes the site off the cluster before deleting its rows", async () => {
    await deleteSite(actor, "shop", null);
    await eventually("the StaticSite to be gone", async () =>
      (await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, "shop")) === null ? true : undefined,
    );
    expect(await db().site.count({ where: { tenantId: actor.tenantId } })).toBe(0);
  });

  // The reason the cluster gives for a failed rollout is text from outside
  // (condition messages can quote pods, events, the site's own files): it is
  // stored in Deploy.error whatever it holds.
  it("stores a failed rollout's reason with NUL and controls made visible and cut to its limit, once", async () => {
    await createSite(actor, { name: "handbook" }, null);
    const zip = await buildZip([{ name: "index.html", data: "<h1>docs</h1>" }]);
    const deploy = await uploadDeploy(actor, "handbook", { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null });
    const ss = await eventually("the StaticSite", async () => (await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, "handbook")) ?? undefined);
    const message = `fetch failed for "a\u0000b"\n\u001b[31m${"x".repeat(5000)}`;
    const generation = ss.metadata.generation ?? 1;
    await applyStatusAsOperator(dashboardKubeConfig(), ss, {
      observedGeneration: generation,
      replicas: 1,
      readyReplicas: 0,
      conditions: [
        {
          type: CONDITION_DEGRADED,
          status: "True",
          reason: "ArtifactFetchFailed",
          message,
          lastTransitionTime: new Date().toISOString(),
          observedGeneration: generation,
        },
      ],
    });
    await eventually("the status hub to see the failure", async () =>
      hub.get(`pagoda-${actor.tenantSlug}`, "handbook")?.status?.conditions?.some((c) => c.type === CONDITION_DEGRADED) ? true : undefined,
    );

    expect(await trackRollouts(hub, [{ tenantSlug: actor.tenantSlug, name: "handbook" }])).toBe(1);
    const row = await db().deploy.findUniqueOrThrow({ where: { id: deploy.id } });
    expect(row.state).toBe("failed");
    expect(row.error?.startsWith('fetch failed for "a\u2400b"\u240a\u241b[31mxxx')).toBe(true);
    expect(Array.from(row.error!)).toHaveLength(DEPLOY_ERROR_MAX);
    // The stored form is what the next pass compares with: no rewrite on every pass.
    expect(await trackRollouts(hub, [{ tenantSlug: actor.tenantSlug, name: "handbook" }])).toBe(0);
  });
});
