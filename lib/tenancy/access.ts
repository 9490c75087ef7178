import { db } from "@/lib/db";
import type { Role } from "@/lib/generated/prisma/client";
import { ApiError, notFound } from "@/lib/http/errors";

/**
 * The caller acting inside one tenant. Every tenant-owned query takes one of
 * these, so a query cannot be written without saying whose data it reads.
 */
export interface TenantActor {
  userId: string;
  tenantId: string;
  tenantSlug: string;
  role: Role;
}

/**
 * Resolves the caller's membership of a tenant. A tenant the caller does not
 * belong to is indistinguishable from one that does not exist: both are 404.
 */
export async function actorFor(userId: string, tenantSlug: string): Promise<TenantActor> {
  const membership = await db().membership.findFirst({
    where: { userId, tenant: { slug: tenantSlug } },
    select: { role: true, tenant: { select: { id: true, slug: true } } },
  });
  if (!membership) throw notFound("Workspace not found.");
  return { userId, tenantId: membership.tenant.id, tenantSlug: membership.tenant.slug, role: membership.role };
}

export interface WorkspaceSummary {
  slug: string;
  name: string;
  role: Role;
}

export async function workspacesOf(userId: string): Promise<WorkspaceSummary[]> {
  const rows = await db().membership.findMany({
    where: { userId },
    orderBy: { createdAt: "asc" },
    select: { role: true, tenant: { select: { slug: true, name: true } } },
  });
  return rows.map((row) => ({ slug: row.tenant.slug, name: row.tenant.name, role: row.role }));
}

/** Only owners may do things that cannot be undone, such as deleting a site. */
export function requireOwner(actor: TenantActor): void {
  if (actor.role !== "owner") throw new ApiError(403, "forbidden", "Only owners of this workspace can do this.");
}
