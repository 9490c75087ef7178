import "server-only";
import { db } from "@/lib/db";
import { actorAudit, recordAudit } from "@/lib/audit";
import { publishPromotedDeploy } from "@/lib/publishing/publish";
import { artifactStore } from "@/lib/artifacts/configured";
import { type DeployView, deployWithCreator, previewContextOf, toDeployView } from "@/lib/deploys/view";
import { ConflictError, NotFoundError } from "@/lib/errors";
import { getSiteRow } from "@/lib/sites/sites";
import { requireRole, type TenantActor } from "@/lib/tenancy/access";
import type { Digest } from "@/lib/artifacts";

/**
 * Points the site at an earlier (or the current) deploy: rollback is
 * promotion of an older, immutable artifact. The deploy becomes live when
 * the cluster reports it rolled out, like any other.
 */
export async function promoteDeploy(actor: TenantActor, siteName: string, deployId: string, ip: string | null): Promise<DeployView> {
  requireRole(actor, "member");
  const site = await getSiteRow(actor, siteName);
  const deploy = await db().deploy.findFirst({ where: { id: deployId, siteId: site.id } });
  if (!deploy) throw new NotFoundError("Deploy not found.");
  if (!deploy.digest || deploy.state === "processing") {
    throw new ConflictError("not_promotable", "This deploy has no finished artifact, so it cannot be promoted.");
  }
  if (!(await artifactStore().has(deploy.digest as Digest))) {
    throw new ConflictError("artifact_missing", "The files of this deploy are no longer stored, so it cannot be promoted. Upload it again.");
  }
  const updated = await db().$transaction(async (tx) => {
    await tx.site.update({ where: { id: site.id }, data: { targetDeployId: deploy.id } });
    const promoted = await tx.deploy.update({
      where: { id: deploy.id },
      // A deploy that failed to roll out gets a fresh try; a live one stays live.
      data: { promotedAt: new Date(), ...(deploy.state === "failed" || deploy.state === "superseded" ? { state: "ready", error: null } : {}) },
      include: deployWithCreator,
    });
    await recordAudit(
      {
        action: "deploy.promote",
        outcome: "success",
        tenantId: actor.tenantId,
        target: site.name,
        ip,
        ...actorAudit(actor, { deployId: deploy.id, digest: deploy.digest }),
      },
      tx,
    );
    return promoted;
  });
  await publishPromotedDeploy(site.id);
  return toDeployView(updated, updated.id, await previewContextOf(site));
}
