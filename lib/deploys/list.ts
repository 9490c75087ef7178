import "server-only";
import { db } from "@/lib/db";
import { type DeployView, deployWithCreator, previewContextOf, toDeployView } from "@/lib/deploys/view";
import { getSiteRow } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";

const HISTORY_LIMIT = 50;

/** A site's deploy history, newest first. */
export async function listDeploys(actor: TenantActor, siteName: string): Promise<DeployView[]> {
  const site = await getSiteRow(actor, siteName);
  const rows = await db().deploy.findMany({
    where: { siteId: site.id },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: HISTORY_LIMIT,
    include: deployWithCreator,
  });
  const previews = await previewContextOf(site);
  return rows.map((row) => toDeployView(row, site.targetDeployId, previews));
}
