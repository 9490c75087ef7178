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
 * Bytes of artifact storage a tenant uses: each distinct digest of its
 * deploys once, because identical uploads are stored once.
 */
export async function storedBytesOf(tenantId: string, excludeDigest?: string, tx: Pick<Prisma.TransactionClient, "$queryRaw"> = db()): Promise<number> {
  const rows = await tx.$queryRaw<{ total: bigint | null }[]>`
    SELECT SUM(size) AS total FROM (
      SELECT DISTINCT d.digest, d."sizeBytes" AS size
      FROM "Deploy" d JOIN "Site" s ON s.id = d."siteId"
      WHERE s."tenantId" = ${tenantId} AND d.digest IS NOT NULL AND d.state <> 'failed'
        AND d.digest IS DISTINCT FROM ${excludeDigest ?? null}
    ) AS distinct_artifacts`;
  return Number(rows[0]?.total ?? 0);
}
