import "server-only";
import { stat } from "node:fs/promises";
import pg from "pg";
import { getConfig } from "@/lib/config";
import { db } from "@/lib/db";
import { UnavailableError } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { componentLogger } from "@/lib/log";
import { digestHex, type Digest } from "./digest";
import type { ArtifactStore } from "./store";

const log = componentLogger("artifacts.references");

/**
 * Advisory-lock class of the per-digest locks ("artf"). An upload holds its
 * digest's lock shared from before it writes the blob until its deploy row
 * is committed; the collector needs it exclusively to delete the blob.
 */
export const DIGEST_LOCK_CLASS = 0x61727466;

/** The digest's first 32 bits: two digests sharing them only delay each other's collection by a pass. */
export function digestLockId(digest: Digest): number {
  return Buffer.from(digestHex(digest).slice(0, 8), "hex").readInt32BE(0);
}

/** Postgres's now() as the UTC wall-clock time Prisma keeps in TIMESTAMP(3) columns. */
export const NOW_UTC = `(now() AT TIME ZONE 'UTC')`;

/**
 * The artifact side of one upload. Its `store` is handed to the upload
 * pipeline: before the blob is written it takes the digest's lock (shared,
 * on a connection of its own, so it outlives any one transaction) and makes
 * sure an Artifact row exists, so a blob is never in the store without a
 * row the collector can find. The lock waits while the collector is
 * deleting that digest, and afterwards the pipeline finds no blob and writes
 * it again. `release()` ends the connection, which drops the lock whatever
 * state it is in; a crashed process drops it with its connection.
 */
export class ArtifactUpload {
  readonly store: ArtifactStore;
  private client: pg.Client | null = null;
  private connectionLost = false;

  constructor(
    private readonly inner: ArtifactStore,
    private readonly connectionString: string = getConfig().DATABASE_URL,
  ) {
    this.store = {
      description: inner.description,
      has: (digest) => inner.has(digest),
      stat: (digest) => inner.stat(digest),
      open: (digest) => inner.open(digest),
      delete: (digest) => inner.delete(digest),
      list: () => inner.list(),
      putFile: async (digest, file) => {
        await this.pin(digest, (await stat(file)).size);
        return inner.putFile(digest, file);
      },
    };
  }

  /** False once the pin's connection broke: the recording transaction must then check the blob itself. */
  get pinned(): boolean {
    return this.client !== null && !this.connectionLost;
  }

  private async pin(digest: Digest, sizeBytes: number): Promise<void> {
    if (!this.client) {
      const client = new pg.Client({ connectionString: this.connectionString, application_name: "pagoda-artifact-upload" });
      client.on("error", (error) => {
        this.connectionLost = true;
        log.warn({ err: error, digest }, "the connection pinning an uploaded artifact broke");
      });
      await client.connect();
      this.client = client;
    }
    await this.client.query("SELECT pg_advisory_lock_shared($1, $2)", [DIGEST_LOCK_CLASS, digestLockId(digest)]);
    await this.client.query(
      `INSERT INTO "Artifact" ("digest", "sizeBytes", "unreferencedSince") VALUES ($1, $2, ${NOW_UTC}) ON CONFLICT ("digest") DO NOTHING`,
      [digest, sizeBytes],
    );
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (!client) return;
    await client.end().catch((error: unknown) => log.warn({ err: error }, "closing the artifact pin connection failed"));
  }
}

/**
 * Records inside the deploy's transaction (which holds the tenant's row
 * lock) that a deploy of the tenant names the digest. The upsert takes the
 * artifact row's lock, so it waits while the collector decides about this
 * digest; the blob is checked under that lock, so a deploy row never names
 * a blob that is already gone.
 */
export async function holdArtifact(tx: Prisma.TransactionClient, store: ArtifactStore, tenantId: string, digest: Digest, sizeBytes: number): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO "Artifact" ("digest", "sizeBytes", "unreferencedSince") VALUES ($1, $2, NULL)
     ON CONFLICT ("digest") DO UPDATE SET "unreferencedSince" = NULL`,
    digest,
    BigInt(sizeBytes),
  );
  await tx.$executeRawUnsafe(
    `INSERT INTO "ArtifactHold" ("tenantId", "digest", "releasedAt") VALUES ($1, $2, NULL)
     ON CONFLICT ("tenantId", "digest") DO UPDATE SET "releasedAt" = NULL`,
    tenantId,
    digest,
  );
  if (!(await store.has(digest))) {
    // Only when the upload's pin connection broke and a pass collected the blob meanwhile.
    throw new UnavailableError("artifact_gone", "The upload was stored but removed again before it could be recorded. Please upload it again.");
  }
}

/**
 * After a tenant's deploys were deleted (inside the same transaction, which
 * holds the tenant's row lock): releases the tenant's holds on digests none
 * of its deploys names any more, and starts the grace period of digests no
 * deploy at all names. Artifact rows are locked in digest order first, so
 * two of these in different tenants cannot deadlock on shared digests.
 */
export async function releaseArtifacts(tx: Prisma.TransactionClient, tenantId: string, digests: string[]): Promise<void> {
  if (digests.length === 0) return;
  const sorted = [...new Set(digests)].sort();
  await tx.$queryRawUnsafe(`SELECT "digest" FROM "Artifact" WHERE "digest" = ANY($1::text[]) ORDER BY "digest" FOR UPDATE`, sorted);
  await tx.$executeRawUnsafe(
    `UPDATE "ArtifactHold" h SET "releasedAt" = ${NOW_UTC}
     WHERE h."tenantId" = $1 AND h."digest" = ANY($2::text[]) AND h."releasedAt" IS NULL
       AND NOT EXISTS (SELECT 1 FROM "Deploy" d JOIN "Site" s ON s."id" = d."siteId" WHERE s."tenantId" = h."tenantId" AND d."digest" = h."digest")`,
    tenantId,
    sorted,
  );
  await tx.$executeRawUnsafe(
    `UPDATE "Artifact" a SET "unreferencedSince" = ${NOW_UTC}
     WHERE a."digest" = ANY($1::text[]) AND a."unreferencedSince" IS NULL
       AND NOT EXISTS (SELECT 1 FROM "Deploy" d WHERE d."digest" = a."digest")`,
    sorted,
  );
}

/**
 * Whether any deploy names the digest. Only those can be in a StaticSite
 * the dashboard keeps, so only those are served (see docs/uploads.md).
 */
export async function isArtifactReferenced(digest: Digest): Promise<boolean> {
  const row = await db().deploy.findFirst({ where: { digest }, select: { id: true } });
  return row !== null;
}

/** The grace period in words, for messages: "1 hour", "90 minutes", "2 days". */
export function describeGrace(seconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (seconds % 86_400 === 0) return plural(seconds / 86_400, "day");
  if (seconds % 3600 === 0) return plural(seconds / 3600, "hour");
  if (seconds % 60 === 0) return plural(seconds / 60, "minute");
  return plural(seconds, "second");
}
