import "server-only";
import { db, type Prisma } from "@/lib/db";
import { sitePhase, type SitePhase, type StatusHub } from "@/lib/publishing";
import { tenantNamespace } from "@/lib/tenancy/slug";
import { componentLogger } from "@/lib/log";
import { DEPLOY_ERROR_MAX, storableText } from "@/lib/storable";
import { processSingleton } from "@/lib/process-singleton";
import { deployChanges, deployFailures, type DeployFailure } from "@/lib/publishing/deploy-events";

const log = componentLogger("rollout-tracker");

// Per site, the deploy state last seen, so a change is announced on deployChanges once.
const lastSeen = processSingleton("rolloutTracker.lastSeen", () => new Map<string, string>());

/** A promoted deploy as the last pass read it; null: the last pass found the site without one. */
type KnownTarget = { digest: string; state: string; error: string | null } | null;
// By tenant and site name, how the status watch names a site.
const knownTargets = processSingleton("rolloutTracker.knownTargets", () => new Map<string, KnownTarget>());
const siteKey = (tenantSlug: string, name: string) => `${tenantSlug}/${name}`;

/** What the pass would write for a site in `phase`, given its target as stored: nothing, live, or failed with a message. */
function dueWrite(phase: SitePhase, target: { state: string; error: string | null }): "live" | { failed: string } | null {
  if (phase.phase === "Live" && target.state !== "live") return "live";
  // Compared as stored, or a message that needed cleaning would be written again on every pass.
  if (phase.phase === "Failed") {
    const message = storableText(phase.message, DEPLOY_ERROR_MAX);
    if (target.state !== "failed" || target.error !== message) return { failed: message };
  }
  return null;
}

/**
 * Whether a status change of a site could move its deploy state, judged by
 * the target the last pass read. During a rollout the operator reports
 * progress many times per site, and only the report that makes it Live (or
 * Failed) changes a row: the others need no query at all. A target changed
 * since (a promotion, here or on another replica) reaches the tracker by the
 * database's notification, whose pass reads the row again; a site never
 * read yet always gets its pass.
 */
export function statusMayAdvance(hub: StatusHub, tenantSlug: string, name: string): boolean {
  const known = knownTargets.get(siteKey(tenantSlug, name));
  if (known === undefined) return true;
  if (known === null) return false;
  return dueWrite(sitePhase(hub.get(tenantNamespace(tenantSlug), name), known.digest), known) !== null;
}

// A listener that throws must not end the pass: the deploy is failed whatever the notice does.
function emitDeployFailure(failure: DeployFailure): void {
  try {
    deployFailures.emit("failed", failure);
  } catch (error) {
    log.error({ err: error, ...failure }, "a deploy-failure listener threw");
  }
}

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
 * the given sites, or at every promoted site. Every site of a pass that went
 * live is written in one transaction, so a burst of rollouts finishing costs
 * a few statements, not a few per site.
 */
export async function trackRollouts(hub: StatusHub, sites: SiteRef[] | "all" = "all"): Promise<number> {
  if (sites !== "all" && sites.length === 0) return 0;
  const rows = await db().site.findMany({
    where: whereOf(sites),
    select: { id: true, name: true, tenant: { select: { slug: true } }, targetDeploy: { select: { id: true, digest: true, state: true, error: true } } },
  });
  if (sites !== "all") {
    // A site asked for by name and not found has no promoted deploy: its status says nothing until one is.
    for (const ref of sites) if ("tenantSlug" in ref) knownTargets.set(siteKey(ref.tenantSlug, ref.name), null);
  }
  const wentLive: { site: (typeof rows)[number]; targetId: string; digest: string }[] = [];
  let changes = 0;
  for (const site of rows) {
    const target = site.targetDeploy;
    if (!target?.digest) continue;
    const key = siteKey(site.tenant.slug, site.name);
    knownTargets.set(key, { digest: target.digest, state: target.state, error: target.error });
    const seen = `${target.id}:${target.state}:${target.error ?? ""}`;
    if (lastSeen.get(site.id) !== seen) {
      if (lastSeen.has(site.id)) deployChanges.emit("changed", site.id);
      lastSeen.set(site.id, seen);
    }
    const phase = sitePhase(hub.get(tenantNamespace(site.tenant.slug), site.name), target.digest);
    const due = dueWrite(phase, target);
    if (due === "live") {
      wentLive.push({ site, targetId: target.id, digest: target.digest });
    } else if (due) {
      await db().deploy.update({ where: { id: target.id }, data: { state: "failed", error: due.failed } });
      knownTargets.set(key, { digest: target.digest, state: "failed", error: due.failed });
      log.warn({ site: site.name, tenant: site.tenant.slug, digest: target.digest, reason: phase.reason }, "deploy failed to roll out");
      // Only the change into failed is news; a new message on a deploy already failed is not.
      if (target.state !== "failed") emitDeployFailure({ deployId: target.id, siteId: site.id, reason: due.failed });
      changes += 1;
    }
  }
  if (wentLive.length > 0) {
    const targetIds = wentLive.map((w) => w.targetId);
    // A deploy is the target of its own site only, so "live and not a target" is each site's previous live deploy.
    await db().$transaction([
      db().deploy.updateMany({
        where: { siteId: { in: wentLive.map((w) => w.site.id) }, state: "live", id: { notIn: targetIds } },
        data: { state: "superseded" },
      }),
      db().deploy.updateMany({ where: { id: { in: targetIds } }, data: { state: "live", liveAt: new Date(), error: null } }),
    ]);
    for (const { site, digest } of wentLive) {
      knownTargets.set(siteKey(site.tenant.slug, site.name), { digest, state: "live", error: null });
      log.info({ site: site.name, tenant: site.tenant.slug, digest }, "deploy is live");
    }
    changes += wentLive.length;
  }
  return changes;
}
