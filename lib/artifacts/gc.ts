import "server-only";
import pg from "pg";
import { getConfig } from "@/lib/config";
import { artifactStore } from "@/lib/artifacts/configured";
import { processSingleton } from "@/lib/process-singleton";
import { componentLogger } from "@/lib/log";
import { isDigest, type Digest } from "./digest";
import { DIGEST_LOCK_CLASS, digestLockId } from "./references";
import type { ArtifactStore } from "./store";

const log = componentLogger("artifacts.gc");

/** Session advisory lock of the collector ("pagoda-g" in ASCII), so one pass runs at a time across processes. */
export const COLLECTOR_LOCK = 0x7061676f64612d67n;

/** Artifacts looked at per pass; the rest wait for the next one. */
const BATCH = 500;

export interface CollectOptions {
  store: ArtifactStore;
  /** How long an artifact no deploy names (and a tenant's released hold) is kept. */
  graceMs: number;
  /** The pass's clock; tests move it past the grace period instead of waiting. */
  now?: Date;
  /**
   * Also list the store and start the grace period of blobs that have no
   * Artifact row (stored before the bookkeeping existed, by a version without
   * it, or left by a lost commit). It reads the whole store, so the scheduler
   * does it on a process's first pass only.
   */
  adoptStored?: boolean;
  connectionString?: string;
}

export interface CollectResult {
  /** False when another process's pass held the collector lock. */
  ran: boolean;
  /** Holds whose tenant no longer has a deploy of the digest (normally released at site deletion already). */
  released: number;
  /** Released holds past the grace period, no longer charged to their tenant. */
  expired: number;
  /** Blobs found in the store without a row, now known and in their grace period. */
  adopted: number;
  collected: Digest[];
  /** Due, but an upload of the digest was in flight: left for the next pass. */
  busy: Digest[];
  failed: Digest[];
}

type Outcome = "collected" | "busy" | "kept";

/**
 * One pass of the artifact garbage collector. The bookkeeping statements
 * only ever lock rows nobody else holds (SKIP LOCKED) and are idempotent;
 * what they get wrong under a race is corrected by the next pass and never
 * deletes anything. Deletion happens only in collectOne, which rechecks
 * everything under the artifact row's lock and the digest's lock.
 */
export async function collectArtifacts(opts: CollectOptions): Promise<CollectResult> {
  const result: CollectResult = { ran: false, released: 0, expired: 0, adopted: 0, collected: [], busy: [], failed: [] };
  const client = new pg.Client({ connectionString: opts.connectionString ?? getConfig().DATABASE_URL, application_name: "pagoda-artifact-gc" });
  client.on("error", (error) => log.warn({ err: error }, "the collector's connection broke"));
  await client.connect();
  try {
    const locked = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [COLLECTOR_LOCK.toString()]);
    if (!locked.rows[0]?.ok) return result;
    result.ran = true;
    const now = opts.now ?? new Date();
    const cutoff = new Date(now.getTime() - opts.graceMs);
    result.released = await reconcile(client, now);
    if (opts.adoptStored) result.adopted = await adoptStored(client, opts.store, now);
    result.expired = await expireHolds(client, cutoff);
    const due = await client.query<{ digest: string }>(
      `SELECT a."digest" FROM "Artifact" a
       WHERE a."unreferencedSince" <= ($1::timestamptz AT TIME ZONE 'UTC')
         AND NOT EXISTS (SELECT 1 FROM "ArtifactHold" h WHERE h."digest" = a."digest")
       ORDER BY a."unreferencedSince" LIMIT ${BATCH}`,
      [cutoff.toISOString()],
    );
    for (const { digest } of due.rows) {
      if (!isDigest(digest)) {
        log.warn({ digest }, "an artifact row has a malformed digest; left alone");
        continue;
      }
      try {
        const outcome = await collectOne(client, opts.store, digest, cutoff);
        if (outcome === "collected") result.collected.push(digest);
        if (outcome === "busy") result.busy.push(digest);
      } catch (error) {
        result.failed.push(digest);
        log.error({ err: error, digest, store: opts.store.description }, "collecting an artifact failed; the next pass retries");
      }
    }
    return result;
  } finally {
    // Ending the session drops the collector lock too.
    await client.end().catch((error: unknown) => log.warn({ err: error }, "closing the collector's connection failed"));
  }
}

/**
 * Brings the bookkeeping in line with the deploys, for whatever removed or
 * wrote deploys without going through upload and site deletion (a tenant's
 * cascade, rows written by hand). Returns the holds it released.
 */
async function reconcile(client: pg.Client, now: Date): Promise<number> {
  const at = now.toISOString();
  await client.query(
    `INSERT INTO "Artifact" ("digest", "sizeBytes")
     SELECT d."digest", COALESCE(MAX(d."sizeBytes"), 0) FROM "Deploy" d
     WHERE d."digest" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "Artifact" a WHERE a."digest" = d."digest")
     GROUP BY d."digest"
     ON CONFLICT ("digest") DO NOTHING`,
  );
  await client.query(
    `INSERT INTO "ArtifactHold" ("tenantId", "digest")
     SELECT DISTINCT s."tenantId", d."digest" FROM "Deploy" d JOIN "Site" s ON s."id" = d."siteId"
     WHERE d."digest" IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM "ArtifactHold" h WHERE h."tenantId" = s."tenantId" AND h."digest" = d."digest")
     ON CONFLICT ("tenantId", "digest") DO NOTHING`,
  );
  const released = await client.query(
    `UPDATE "ArtifactHold" SET "releasedAt" = ($1::timestamptz AT TIME ZONE 'UTC')
     WHERE ("tenantId", "digest") IN (
       SELECT h."tenantId", h."digest" FROM "ArtifactHold" h
       WHERE h."releasedAt" IS NULL AND ${NO_DEPLOY_OF_TENANT}
       FOR UPDATE OF h SKIP LOCKED)`,
    [at],
  );
  await client.query(
    `UPDATE "Artifact" SET "unreferencedSince" = ($1::timestamptz AT TIME ZONE 'UTC')
     WHERE "digest" IN (
       SELECT a."digest" FROM "Artifact" a
       WHERE a."unreferencedSince" IS NULL AND NOT EXISTS (SELECT 1 FROM "Deploy" d WHERE d."digest" = a."digest")
       FOR UPDATE OF a SKIP LOCKED)`,
    [at],
  );
  return released.rowCount ?? 0;
}

/**
 * Rows for blobs the store has and the table does not. An upload inserts its
 * row before it writes its blob, so a blob without a row is not an upload in
 * flight; one whose digest a deploy names got its row from reconcile first.
 */
async function adoptStored(client: pg.Client, store: ArtifactStore, now: Date): Promise<number> {
  let adopted = 0;
  let batch: { digest: Digest; size: number }[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const inserted = await client.query(
      `INSERT INTO "Artifact" ("digest", "sizeBytes", "unreferencedSince")
       SELECT x.digest, x.size, ($3::timestamptz AT TIME ZONE 'UTC') FROM unnest($1::text[], $2::bigint[]) AS x(digest, size)
       ON CONFLICT ("digest") DO NOTHING`,
      [batch.map((b) => b.digest), batch.map((b) => b.size), now.toISOString()],
    );
    adopted += inserted.rowCount ?? 0;
    batch = [];
  };
  for await (const found of store.list()) {
    batch.push(found);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  if (adopted > 0) log.info({ adopted, store: store.description }, "stored artifacts without a row adopted by the collector");
  return adopted;
}

const NO_DEPLOY_OF_TENANT = `NOT EXISTS (SELECT 1 FROM "Deploy" d JOIN "Site" s ON s."id" = d."siteId" WHERE s."tenantId" = h."tenantId" AND d."digest" = h."digest")`;

/**
 * Released holds past the grace period stop counting against their tenant.
 * A hold that an upload is re-taking is locked (skipped) or already has a
 * null releasedAt on its latest version (not matched).
 */
async function expireHolds(client: pg.Client, cutoff: Date): Promise<number> {
  const expired = await client.query(
    `DELETE FROM "ArtifactHold" WHERE ("tenantId", "digest") IN (
       SELECT h."tenantId", h."digest" FROM "ArtifactHold" h
       WHERE h."releasedAt" <= ($1::timestamptz AT TIME ZONE 'UTC') AND ${NO_DEPLOY_OF_TENANT}
       FOR UPDATE OF h SKIP LOCKED)`,
    [cutoff.toISOString()],
  );
  return expired.rowCount ?? 0;
}

/**
 * Deletes one artifact's blob and row, if it is still due once everything
 * that could change that is locked out:
 * - the row lock (FOR UPDATE, waiting) orders this after any deploy
 *   transaction that is recording the digest, and before any that starts;
 * - the digest's advisory lock, taken exclusively without waiting, fails
 *   while an upload between "about to write the blob" and "deploy
 *   committed" holds it shared; an upload that comes later waits for it,
 *   then finds no blob and writes it again;
 * - with both held, a fresh read of Deploy and ArtifactHold sees every
 *   reference that exists or can still appear.
 * The row is deleted after the blob, in the same transaction: if the
 * delete fails the row stays and the next pass retries; if the commit is
 * lost the row stays without its blob, which an upload rewrites and the
 * next pass removes.
 * `cutoff` null skips the grace period, for a blob its own refused upload
 * has just written.
 */
export async function collectOne(client: pg.Client, store: ArtifactStore, digest: Digest, cutoff: Date | null): Promise<Outcome> {
  await client.query("BEGIN");
  try {
    const row = await client.query<{ due: boolean }>(
      `SELECT ("unreferencedSince" IS NOT NULL AND ($2::timestamptz IS NULL OR "unreferencedSince" <= ($2::timestamptz AT TIME ZONE 'UTC'))) AS due
       FROM "Artifact" WHERE "digest" = $1 FOR UPDATE`,
      [digest, cutoff?.toISOString() ?? null],
    );
    if (!row.rows[0]?.due) {
      await client.query("COMMIT");
      return "kept";
    }
    const lock = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock($1, $2) AS ok", [DIGEST_LOCK_CLASS, digestLockId(digest)]);
    if (!lock.rows[0]?.ok) {
      await client.query("ROLLBACK");
      return "busy";
    }
    const refs = await client.query<{ deployed: boolean; held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM "Deploy" WHERE "digest" = $1) AS deployed,
              EXISTS (SELECT 1 FROM "ArtifactHold" WHERE "digest" = $1) AS held`,
      [digest],
    );
    const { deployed, held } = refs.rows[0] ?? { deployed: true, held: true };
    if (deployed || held) {
      // Marked by a pass that raced a deploy: it is in use after all.
      if (deployed) await client.query(`UPDATE "Artifact" SET "unreferencedSince" = NULL WHERE "digest" = $1`, [digest]);
      await client.query("COMMIT");
      return "kept";
    }
    await store.delete(digest);
    await client.query(`DELETE FROM "Artifact" WHERE "digest" = $1`, [digest]);
    await client.query("COMMIT");
    log.info({ digest, store: store.description }, "artifact collected");
    return "collected";
  } catch (error) {
    await client.query("ROLLBACK").catch((rollbackError: unknown) => log.warn({ err: rollbackError, digest }, "rolling back a collection failed"));
    throw error;
  }
}

/**
 * Removes a blob that its own upload wrote and then could not record (a
 * refusal after storing, such as the storage quota), unless something has
 * come to need it meanwhile. The upload's pin must already be released.
 */
export async function collectRefusedUpload(store: ArtifactStore, digest: Digest, connectionString = getConfig().DATABASE_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString, application_name: "pagoda-artifact-gc" });
  client.on("error", (error) => log.warn({ err: error }, "the collector's connection broke"));
  await client.connect();
  try {
    return (await collectOne(client, store, digest, null)) === "collected";
  } finally {
    await client.end().catch((error: unknown) => log.warn({ err: error }, "closing the collector's connection failed"));
  }
}

/**
 * Runs a pass at start and then every PAGODA_ARTIFACT_GC_INTERVAL_SECONDS,
 * once per process; the collector lock makes passes of several processes
 * take turns (a process that finds it held skips its pass).
 */
export function startArtifactCollector(): void {
  processSingleton("artifactCollector", startCollecting);
}

function startCollecting(): NodeJS.Timeout {
  const config = getConfig();
  const graceMs = config.PAGODA_ARTIFACT_GC_GRACE_SECONDS * 1000;
  let running = false;
  let adopted = false;
  const pass = async () => {
    if (running) return;
    running = true;
    try {
      const result = await collectArtifacts({ store: artifactStore(), graceMs, adoptStored: !adopted });
      if (result.ran) adopted = true;
      const busy = result.collected.length + result.failed.length + result.released + result.expired + result.adopted > 0;
      log[result.failed.length > 0 ? "warn" : busy ? "info" : "debug"](
        {
          ran: result.ran,
          released: result.released,
          expired: result.expired,
          adopted: result.adopted,
          collected: result.collected.length,
          busy: result.busy.length,
          failed: result.failed.length,
        },
        "artifact collection pass",
      );
    } catch (error) {
      log.error({ err: error }, "an artifact collection pass failed; the next one retries");
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void pass(), config.PAGODA_ARTIFACT_GC_INTERVAL_SECONDS * 1000);
  timer.unref();
  void pass();
  log.info(
    { intervalSeconds: config.PAGODA_ARTIFACT_GC_INTERVAL_SECONDS, graceSeconds: config.PAGODA_ARTIFACT_GC_GRACE_SECONDS },
    "artifact collector started",
  );
  return timer;
}
