import "server-only";
import { getConfig } from "@/lib/config";
import { db } from "@/lib/db";
import type { Prisma } from "@/lib/generated/prisma/client";

/** A tenant's limits: its own overrides where set, the server defaults otherwise. */
export interface TenantQuotas {
  maxSites: number;
  maxArchiveBytes: number;
  maxFiles: number;
  maxStoredBytes: number;
}

export async function quotasOf(tenantId: string): Promise<TenantQuotas> {
  const config = getConfig();
  const tenant = await db().tenant.findUniqueOrThrow({
    where: { id: tenantId },
    select: { maxSites: true, maxArchiveBytes: true, maxFiles: true, maxStoredBytes: true },
  });
  return {
    maxSites: tenant.maxSites ?? config.PAGODA_QUOTA_SITES,
    maxArchiveBytes: Number(tenant.maxArchiveBytes ?? config.PAGODA_QUOTA_ARCHIVE_BYTES),
    maxFiles: tenant.maxFiles ?? config.PAGODA_QUOTA_FILES,
    maxStoredBytes: Number(tenant.maxStoredBytes ?? config.PAGODA_QUOTA_STORED_BYTES),
  };
}

/**
 * Bytes of artifact storage charged to a tenant: every artifact it holds
 * (docs/uploads.md, "Garbage collection"), counted once however many of its
 * deploys name it. That includes artifacts of its deleted sites until their
 * grace period is over, so deleting a site does not hand its space back at
 * once, and a loop of create, upload, delete runs into the quota.
 */
export async function storedBytesOf(tenantId: string, excludeDigest?: string, tx: Pick<Prisma.TransactionClient, "$queryRaw"> = db()): Promise<number> {
  const rows = await tx.$queryRaw<{ total: bigint | null }[]>`
    SELECT SUM(a."sizeBytes") AS total
    FROM "ArtifactHold" h JOIN "Artifact" a ON a.digest = h.digest
    WHERE h."tenantId" = ${tenantId} AND h.digest IS DISTINCT FROM ${excludeDigest ?? null}`;
  return Number(rows[0]?.total ?? 0);
}
