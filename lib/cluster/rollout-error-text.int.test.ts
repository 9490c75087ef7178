import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { trackRollouts } from "@/lib/cluster/rollout-tracker";
import { uploadDeploy } from "@/lib/deploys/upload";
import { dashboardKubeConfig, getStaticSite, getStatusHub, type StatusHub } from "@/lib/k8s/dashboard";
import { applyStatusAsOperator, eventually } from "@/lib/k8s/dashboard/int-test-support";
import { CONDITION_DEGRADED } from "@/lib/k8s/staticsite";
import { DEPLOY_ERROR_MAX } from "@/lib/storable";
import { createSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { buildZip } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";
import { sharedCluster } from "@/tests/support/cluster";

/**
 * The reason the cluster gives for a failed rollout is text from outside
 * (condition messages can quote pods, events, the site's own files): it is
 * stored in Deploy.error whatever it holds.
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
  ({ actor } = await newAccount("rollout-text"));
  await createSite(actor, { name: "handbook" }, null);
});

afterAll(async () => {
  await hub?.stop();
  await rm(artifactRoot, { recursive: true, force: true });
});

describe("a failed rollout's reason", () => {
  it("is stored with NUL and controls made visible and cut to its limit, once", async () => {
    const zip = await buildZip([{ name: "index.html", data: "<h1>docs</h1>" }]);
    const deploy = await uploadDeploy(actor, "handbook", { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null });
    const ss = await eventually("the StaticSite", async () => (await getStaticSite(dashboardKubeConfig(), actor.tenantSlug, "handbook")) ?? undefined);
    const message = `fetch failed for "a\u0000b"\n\u001b[31m${"x".repeat(5000)}`;
    const generation = ss.metadata.generation ?? 1;
    await applyStatusAsOperator(dashboardKubeConfig(), ss, {
      observedGeneration: generation,
      replicas: 1,
      readyReplicas: 0,
      conditions: [{ type: CONDITION_DEGRADED, status: "True", reason: "ArtifactFetchFailed", message, lastTransitionTime: new Date().toISOString(), observedGeneration: generation }],
    });
    await eventually("the status hub to see the failure", async () => (hub.get(`pagoda-${actor.tenantSlug}`, "handbook")?.status?.conditions?.some((c) => c.type === CONDITION_DEGRADED) ? true : undefined));

    expect(await trackRollouts(hub, [{ tenantSlug: actor.tenantSlug, name: "handbook" }])).toBe(1);
    const row = await db().deploy.findUniqueOrThrow({ where: { id: deploy.id } });
    expect(row.state).toBe("failed");
    expect(row.error?.startsWith('fetch failed for "a\u2400b"\u240a\u241b[31mxxx')).toBe(true);
    expect(Array.from(row.error!)).toHaveLength(DEPLOY_ERROR_MAX);
    // The stored form is what the next pass compares with: no rewrite on every pass.
    expect(await trackRollouts(hub, [{ tenantSlug: actor.tenantSlug, name: "handbook" }])).toBe(0);
  });
});
