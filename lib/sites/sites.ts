import "server-only";
import { Prisma } from "@/lib/generated/prisma/client";
import { db } from "@/lib/db";
import { getConfig } from "@/lib/config";
import { recordAudit } from "@/lib/audit";
import { ConflictError, NotFoundError, QuotaError } from "@/lib/errors";
import { requireOwner, requireRole, type TenantActor } from "@/lib/tenancy/access";
import { createSiteSchema, siteNameSchema } from "@/lib/validation";
import { hostLabelFor, siteUrl } from "@/lib/sites/url";
import { quotasOf } from "@/lib/tenancy/quotas";
import { prepareTenant, unpublishSite } from "@/lib/publishing/publish";
import { releaseArtifacts } from "@/lib/artifacts/references";

export interface SiteView {
  id: string;
  name: string;
  url: string;
  createdAt: string;
  deployCount: number;
  /** Digest of the deploy the site should serve, once one was promoted. */
  targetDigest: string | null;
}

function toView(site: {
  id: string;
  name: string;
  hostLabel: string;
  createdAt: Date;
  _count: { deploys: number };
  targetDeploy: { digest: string | null } | null;
}): SiteView {
  return {
    id: site.id,
    name: site.name,
    url: siteUrl(site.hostLabel, getConfig()),
    createdAt: site.createdAt.toISOString(),
    deployCount: site._count.deploys,
    targetDigest: site.targetDeploy?.digest ?? null,
  };
}

const viewSelect = {
  id: true,
  name: true,
  hostLabel: true,
  createdAt: true,
  _count: { select: { deploys: true } },
  targetDeploy: { select: { digest: true } },
} as const;

/** Sites per page of the site list: the default site quota, so most workspaces have one page. */
export const SITES_PER_PAGE = 50;
/** The highest page number the list accepts; anything else reads as the first page. */
const MAX_PAGE = 100_000;

interface ViewRow {
  id: string;
  name: string;
  hostLabel: string;
  createdAt: Date;
  deployCount: bigint;
  targetDigest: string | null;
  /** Sites of the tenant matching the filter, before the page window. */
  total: bigint;
}

/**
 * A tenant's sites, newest first, with each one's deploy count and target
 * digest, in one statement (Prisma's nested select sends one per relation).
 * The counts are taken for the rows of the page only.
 */
function siteViews(tenantId: string, opts: { name?: string; limit?: number; offset?: number } = {}): Promise<ViewRow[]> {
  const name = opts.name === undefined ? Prisma.empty : Prisma.sql`AND name = ${opts.name}`;
  const window = opts.limit === undefined ? Prisma.empty : Prisma.sql`LIMIT ${opts.limit} OFFSET ${opts.offset ?? 0}`;
  return db().$queryRaw<ViewRow[]>`
    WITH page AS (
      SELECT id, name, "hostLabel", "createdAt", "targetDeployId", count(*) OVER () AS total
      FROM "Site" WHERE "tenantId" = ${tenantId} ${name}
      ORDER BY "createdAt" DESC, id DESC ${window}
    )
    SELECT p.id, p.name, p."hostLabel", p."createdAt", p.total, d.digest AS "targetDigest",
      (SELECT count(*) FROM "Deploy" c WHERE c."siteId" = p.id) AS "deployCount"
    FROM page p LEFT JOIN "Deploy" d ON d.id = p."targetDeployId"
    ORDER BY p."createdAt" DESC, p.id DESC`;
}

function rowToView(row: ViewRow): SiteView {
  return toView({ ...row, _count: { deploys: Number(row.deployCount) }, targetDeploy: { digest: row.targetDigest } });
}

export async function listSites(actor: TenantActor): Promise<SiteView[]> {
  return (await siteViews(actor.tenantId)).map(rowToView);
}

export interface SitePage {
  sites: SiteView[];
  /** 1-based. */
  page: number;
  pageCount: number;
  /** Sites in the whole workspace. */
  total: number;
}

/** The `page` query parameter of the site list: a whole number from 1, else the first page. */
export function pageNumber(raw: unknown): number {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value !== "string" || !/^[1-9][0-9]{0,5}$/.test(value)) return 1;
  return Math.min(Number(value), MAX_PAGE);
}

/** One page of the site list, newest first. */
export async function listSitePage(actor: TenantActor, page: number): Promise<SitePage> {
  const rows = await siteViews(actor.tenantId, { limit: SITES_PER_PAGE, offset: (page - 1) * SITES_PER_PAGE });
  // Past the last page the window is empty and carries no total: count instead.
  const total = rows[0] ? Number(rows[0].total) : page === 1 ? 0 : await db().site.count({ where: { tenantId: actor.tenantId } });
  return { sites: rows.map(rowToView), page, pageCount: Math.max(1, Math.ceil(total / SITES_PER_PAGE)), total };
}

/** A site of the actor's tenant, or 404 — also for a name that exists in another tenant. */
export async function getSite(actor: TenantActor, name: string): Promise<SiteView> {
  const parsed = siteNameSchema.safeParse(name);
  if (!parsed.success) throw new NotFoundError("Site not found.");
  const [row] = await siteViews(actor.tenantId, { name: parsed.data });
  if (!row) throw new NotFoundError("Site not found.");
  return rowToView(row);
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
  if (!parsed.success) throw new NotFoundError("Site not found.");
  const row = await db().site.findUnique({
    where: { tenantId_name: { tenantId: actor.tenantId, name: parsed.data } },
    select: { id: true, name: true, hostLabel: true, targetDeployId: true },
  });
  if (!row) throw new NotFoundError("Site not found.");
  return row;
}

const nameTaken = (message: string) => new ConflictError("name_taken", message, { name: message });

export async function createSite(actor: TenantActor, raw: unknown, ip: string | null): Promise<SiteView> {
  requireRole(actor, "member");
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
          throw new QuotaError("quota_sites", `This workspace already has ${count} sites, the most allowed (${maxSites}). Delete one first.`);
        }
        if (await tx.site.findUnique({ where: { tenantId_name: { tenantId: actor.tenantId, name } }, select: { id: true } })) {
          throw nameTaken(`You already have a site called “${name}”.`);
        }
        const site = await tx.site.create({
          data: { tenantId: actor.tenantId, name, hostLabel, serving: getConfig().PAGODA_SITE_SERVING },
          select: viewSelect,
        });
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
  await db().$transaction(
    async (tx) => {
      // The tenant's lock orders this against its uploads, which record their
      // artifact holds under it (lib/artifacts/references.ts).
      await tx.$queryRaw`SELECT id FROM "Tenant" WHERE id = ${actor.tenantId} FOR UPDATE`;
      const deployed = await tx.deploy.findMany({ where: { siteId: site.id, digest: { not: null } }, distinct: ["digest"], select: { digest: true } });
      await tx.site.delete({ where: { id: site.id } });
      await releaseArtifacts(
        tx,
        actor.tenantId,
        deployed.flatMap((d) => (d.digest ? [d.digest] : [])),
      );
      await recordAudit({ action: "site.delete", outcome: "success", tenantId: actor.tenantId, actorId: actor.userId, target: name, ip }, tx);
    },
    { maxWait: 15_000, timeout: 15_000 },
  );
}
