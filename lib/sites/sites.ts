import { Prisma } from "@/lib/generated/prisma/client";
import { db } from "@/lib/db";
import { getConfig } from "@/lib/config";
import { recordAudit } from "@/lib/audit";
import { ApiError, notFound } from "@/lib/http/errors";
import { requireOwner, type TenantActor } from "@/lib/tenancy/access";
import { createSiteSchema, siteNameSchema } from "@/lib/validation";
import { hostLabelFor, siteUrl } from "@/lib/sites/url";
import { quotasOf } from "@/lib/deploys/quotas";
import { prepareTenant, unpublishSite } from "@/lib/cluster/publish";

export interface SiteView {
  id: string;
  name: string;
  url: string;
  createdAt: string;
  deployCount: number;
  /** Digest of the deploy the site should serve, once one was promoted. */
  targetDigest: string | null;
}

function toView(site: { id: string; name: string; hostLabel: string; createdAt: Date; _count: { deploys: number }; targetDeploy: { digest: string | null } | null }): SiteView {
  return {
    id: site.id,
    name: site.name,
    url: siteUrl(site.hostLabel, getConfig()),
    createdAt: site.createdAt.toISOString(),
    deployCount: site._count.deploys,
    targetDigest: site.targetDeploy?.digest ?? null,
  };
}

const viewSelect = { id: true, name: true, hostLabel: true, createdAt: true, _count: { select: { deploys: true } }, targetDeploy: { select: { digest: true } } } as const;

export async function listSites(actor: TenantActor): Promise<SiteView[]> {
  const rows = await db().site.findMany({ where: { tenantId: actor.tenantId }, orderBy: { createdAt: "desc" }, select: viewSelect });
  return rows.map(toView);
}

/** A site of the actor's tenant, or 404 — also for a name that exists in another tenant. */
export async function getSite(actor: TenantActor, name: string): Promise<SiteView> {
  const parsed = siteNameSchema.safeParse(name);
  if (!parsed.success) throw notFound("Site not found.");
  const row = await db().site.findUnique({ where: { tenantId_name: { tenantId: actor.tenantId, name: parsed.data } }, select: viewSelect });
  if (!row) throw notFound("Site not found.");
  return toView(row);
}

export interface SiteRow {
  id: string;
  name: string;
  hostLabel: string;
  targetDeployId: string | null;
}

/** The stored row of a site of the actor's tenant, for server code; 404 like getSite. */
export async function getSiteRow(actor: TenantActor, name: string): Promise<SiteRow> {
  const parsed = siteNameSchema.safeParse(name);
  if (!parsed.success) throw notFound("Site not found.");
  const row = await db().site.findUnique({
    where: { tenantId_name: { tenantId: actor.tenantId, name: parsed.data } },
    select: { id: true, name: true, hostLabel: true, targetDeployId: true },
  });
  if (!row) throw notFound("Site not found.");
  return row;
}

const nameTaken = (message: string) => new ApiError(409, "name_taken", message, { name: message });

export async function createSite(actor: TenantActor, raw: unknown, ip: string | null): Promise<SiteView> {
  const { name } = createSiteSchema.parse(raw);
  const hostLabel = hostLabelFor(name, actor.tenantSlug);
  // Read before the transaction: inside it, every query must use the
  // transaction's own connection or concurrent creates can exhaust the pool.
  const { maxSites } = await quotasOf(actor.tenantId);
  try {
    const row = await db().$transaction(
      async (tx) => {
        // Locking the tenant row makes concurrent creates in one tenant take
        // turns, so two of them cannot both pass the quota check.
        await tx.$queryRaw`SELECT id FROM "Tenant" WHERE id = ${actor.tenantId} FOR UPDATE`;
        const count = await tx.site.count({ where: { tenantId: actor.tenantId } });
        if (count >= maxSites) {
          throw new ApiError(403, "quota_sites", `This workspace already has ${count} sites, the most allowed (${maxSites}). Delete one first.`);
        }
        if (await tx.site.findUnique({ where: { tenantId_name: { tenantId: actor.tenantId, name } }, select: { id: true } })) {
          throw nameTaken(`You already have a site called “${name}”.`);
        }
        const site = await tx.site.create({ data: { tenantId: actor.tenantId, name, hostLabel }, select: viewSelect });
        await recordAudit({ action: "site.create", outcome: "success", tenantId: actor.tenantId, actorId: actor.userId, target: name, ip }, tx);
        return site;
      },
      // Creates in one tenant queue on its lock; give them time to get a connection and their turn.
      { maxWait: 15_000, timeout: 15_000 },
    );
    await prepareTenant(actor.tenantSlug);
    return toView(row);
  } catch (error) {
    // The name was checked under the tenant lock, so a unique violation here
    // is the global host label, taken by a site of another tenant.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
      throw nameTaken(`The address ${hostLabel} is already in use. Choose another name.`);
    }
    throw error;
  }
}

export async function deleteSite(actor: TenantActor, name: string, ip: string | null): Promise<void> {
  requireOwner(actor);
  const site = await getSite(actor, name);
  await unpublishSite(actor.tenantSlug, site.name);
  await db().$transaction(async (tx) => {
    await tx.site.delete({ where: { id: site.id } });
    await recordAudit({ action: "site.delete", outcome: "success", tenantId: actor.tenantId, actorId: actor.userId, target: name, ip }, tx);
  });
}
