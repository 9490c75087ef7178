import "server-only";
import { db, type Prisma } from "@/lib/db";
import { sitePhase, type StatusHub } from "@/lib/publishing";
import { tenantNamespace } from "@/lib/tenancy/slug";
import { componentLogger } from "@/lib/log";
import { DEPLOY_ERROR_MAX, storableText } from "@/lib/storable";
import { processSingleton } from "@/lib/process-singleton";
import { deployChanges } from "@/lib/publishing/deploy-events";

const log = componentLogger("rollout-tracker");

// Per site, the deploy state last seen, so a change is announced on deployChanges once.
const lastSeen = processSingleton("rolloutTracker.lastSeen", () => new Map<string, string>());

/** Which sites to look at: one by id (a database change) or by tenant and name (a cluster change). */
export type SiteRef = { siteId: string } | { tenantSlug: string; name: string };

function whereOf(sites: SiteRef[] | "all"): Prisma.SiteWhereInput {
  const promoted: Prisma.SiteWhereInput = { targetDeployId: { not: null } };
  if (sites === "all") return promoted;
  const ids = sites.flatMap((s) => ("siteId" in s ? [s.siteId] : []));
  const named = sites.flatMap((s) => ("tenantSlug" in s ? [{ name: s.name, tenant: { slug: s.tenantSlug } }] : []));
  return { ...promoted, OR: [...(ids.length > 0 ? [{ id: { in: ids } }] : []), ...named] };
}

/**
 * Moves deploy states forward from what the cluster reports: the promoted
 * deploy becomes `live` only once its digest is rolled out and Ready (and the
 * previously live one `superseded`); a rollout the operator reports as
 * Degraded marks it `failed` with the operator's reason, and a later success
 * clears that. Reads the status hub's cache, never the API server. Looks at
 * the given sites, or at every promoted site.
 */
export async function trackRollouts(hub: StatusHub, sites: SiteRef[] | "all" = "all"): Promise<number> {
  if (sites !== "all" && sites.length === 0) return 0;
  const rows = await db().site.findMany({
    where: whereOf(sites),
    select: { id: true, name: true, tenant: { select: { slug: true } }, targetDeploy: { select: { id: true, digest: true, state: true, error: true } } },
  });
  let changes = 0;
  for (const site of rows) {
    const target = site.targetDeploy;
    if (!target?.digest) continue;
    const seen = `${target.id}:${target.state}:${target.error ?? ""}`;
    if (lastSeen.get(site.id) !== seen) {
      if (lastSeen.has(site.id)) deployChanges.emit("changed", site.id);
      lastSeen.set(site.id, seen);
    }
    const phase = sitePhase(hub.get(tenantNamespace(site.tenant.slug), site.name), target.digest);
    if (phase.phase === "Live" && target.state !== "live") {
      await db().$transaction([
        db().deploy.updateMany({ where: { siteId: site.id, state: "live", id: { not: target.id } }, data: { state: "superseded" } }),
        db().deploy.update({ where: { id: target.id }, data: { state: "live", liveAt: new Date(), error: null } }),
      ]);
      log.info({ site: site.name, tenant: site.tenant.slug, digest: target.digest }, "deploy is live");
      changes += 1;
    } else if (phase.phase === "Failed" && (target.state !== "failed" || target.error !== storableText(phase.message, DEPLOY_ERROR_MAX))) {
      // Compared as stored, or a message that needed cleaning would be written again on every pass.
      await db().deploy.update({ where: { id: target.id }, data: { state: "failed", error: storableText(phase.message, DEPLOY_ERROR_MAX) } });
      log.warn({ site: site.name, tenant: site.tenant.slug, digest: target.digest, reason: phase.reason }, "deploy failed to roll out");
      changes += 1;
    }
  }
  return changes;
}
