/**
 * The garbage collector's integration tests, run once per store driver
 * (gc-fs.int.test.ts, gc-s3.int.test.ts) against the run's real Postgres.
 * Time is moved by handing the collector a clock past the grace period;
 * races are driven by holding real row locks from a second connection and
 * waiting until Postgres reports the other sessions blocked behind them.
 */
import { randomBytes } from "node:crypto";
import { NextRequest } from "next/server";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GET as getArtifact } from "@/app/api/artifacts/[digest]/route";
import type { ArtifactStore, Digest } from "@/lib/artifacts";
import { COLLECTOR_LOCK, collectArtifacts } from "@/lib/artifacts/gc";
import { DIGEST_LOCK_CLASS, digestLockId } from "@/lib/artifacts/references";
import { db } from "@/lib/db";
import { artifactStore, signedArtifactUrl } from "@/lib/artifacts/configured";
import { storedBytesOf } from "@/lib/tenancy/quotas";
import { uploadDeploy } from "@/lib/deploys/upload";
import { createSite, deleteSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { isUploadError } from "@/lib/uploads";
import { buildZip } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";

const GRACE_MS = 60 * 60 * 1000;
const withinGrace = () => new Date(Date.now() + GRACE_MS / 2);
const pastGrace = () => new Date(Date.now() + GRACE_MS + 60_000);

export interface GcSuiteOptions {
  /** Points the process's artifact store (lib/deploys/artifacts) at the driver under test; runs before any upload. */
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
}

export function artifactCollectionSuite(driver: string, opts: GcSuiteOptions): void {
  let store: ArtifactStore;
  const sessions: pg.Client[] = [];

  beforeAll(async () => {
    await opts.setUp();
    store = artifactStore();
  }, 600_000);

  // Ending a test's sessions rolls back whatever a failed test left locked.
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.end()));
  });

  afterAll(async () => {
    await opts.tearDown();
  });

  async function session(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    sessions.push(client);
    return client;
  }

  /** Resolves once `count` other sessions wait for `holder`: for a lock it holds, or queued behind one that does. */
  async function blockedBehind(holder: pg.Client, count: number): Promise<void> {
    const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    const probe = await session();
    for (;;) {
      const { rows } = await probe.query<{ n: number }>(
        `WITH RECURSIVE waiting(pid) AS (
           SELECT $1::int
           UNION SELECT a.pid FROM pg_stat_activity a JOIN waiting w ON w.pid = ANY(pg_blocking_pids(a.pid))
         ) SELECT (count(*) - 1)::int AS n FROM waiting`,
        [pid],
      );
      if ((rows[0]?.n ?? 0) >= count) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  const collect = (now: Date, extra: { adoptStored?: boolean } = {}) => collectArtifacts({ store, graceMs: GRACE_MS, now, ...extra });

  async function upload(actor: TenantActor, site: string, zip: Buffer) {
    return uploadDeploy(actor, site, { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: "127.0.0.1" });
  }

  const content = (label: string) => buildZip([{ name: "index.html", data: `<h1>${label}</h1>${randomBytes(2048).toString("hex")}` }]);

  async function artifactStatus(digest: string): Promise<number> {
    const url = signedArtifactUrl(digest as Digest);
    const response = await getArtifact(new NextRequest(url), { params: Promise.resolve({ digest: digest.slice(7) }) });
    await response.body?.cancel();
    return response.status;
  }

  async function siteWithDeploy(label: string) {
    const { actor } = await newAccount(label);
    await createSite(actor, { name: "main" }, null);
    const zip = await content(label);
    const deploy = await upload(actor, "main", zip);
    return { actor, zip, digest: deploy.digest as Digest, sizeBytes: deploy.sizeBytes! };
  }

  describe(`artifact garbage collection (${driver})`, () => {
    it("deleting a site: its URL answers 404 at once, its blob is kept and charged for the grace period, then collected", async () => {
      const { actor, digest, sizeBytes } = await siteWithDeploy("gone");
      expect(await artifactStatus(digest)).toBe(200);
      await deleteSite(actor, "main", null);

      expect(await artifactStatus(digest)).toBe(404);
      const early = await collect(withinGrace());
      expect(early.collected).not.toContain(digest);
      expect(await store.has(digest)).toBe(true);
      expect(await storedBytesOf(actor.tenantId)).toBe(sizeBytes);

      const late = await collect(pastGrace());
      expect(late.ran).toBe(true);
      expect(late.collected).toContain(digest);
      expect(await store.has(digest)).toBe(false);
      expect(await artifactStatus(digest)).toBe(404);
      expect(await db().artifact.findUnique({ where: { digest } })).toBeNull();
      expect(await storedBytesOf(actor.tenantId)).toBe(0);
    });

    it("a loop of create, upload, delete runs into the storage quota", async () => {
      const { actor } = await newAccount("looper");
      const first = await content("loop 0");
      await createSite(actor, { name: "loop-0" }, null);
      const size = (await upload(actor, "loop-0", first)).sizeBytes!;
      await deleteSite(actor, "loop-0", null);
      await db().tenant.update({ where: { id: actor.tenantId }, data: { maxStoredBytes: BigInt(Math.floor(size * 3.5)) } });

      let refused: unknown;
      for (let i = 1; i <= 6 && !refused; i++) {
        await createSite(actor, { name: `loop-${i}` }, null);
        refused = await upload(actor, `loop-${i}`, await content(`loop ${i}`)).then(
          () => undefined,
          (error: unknown) => error,
        );
        await deleteSite(actor, `loop-${i}`, null);
      }
      expect(isUploadError(refused) && refused.status).toBe(413);
      expect((refused as Error).message).toMatch(/storage left.*comes back about 1 hour after/);
      expect(await storedBytesOf(actor.tenantId)).toBeLessThanOrEqual(Math.floor(size * 3.5));

      // Once the grace period is over and the pass has run, the space is back.
      await collect(pastGrace());
      expect(await storedBytesOf(actor.tenantId)).toBe(0);
      await createSite(actor, { name: "after" }, null);
      await upload(actor, "after", await content("after the pass"));
    });

    it("an upload of the same digest waiting to record its deploy during a pass keeps its blob", async () => {
      const { actor, zip, digest } = await siteWithDeploy("racer");
      await createSite(actor, { name: "second" }, null);
      await deleteSite(actor, "main", null);

      // The upload stores (finds) the blob, then queues for the tenant's lock to record its deploy.
      const blocker = await session();
      await blocker.query("BEGIN");
      await blocker.query(`SELECT id FROM "Tenant" WHERE id = $1 FOR UPDATE`, [actor.tenantId]);
      const racing = upload(actor, "second", zip);
      await blockedBehind(blocker, 1);

      const pass = await collect(pastGrace());
      expect(pass.collected).not.toContain(digest);
      expect(pass.busy).toContain(digest);
      expect(await store.has(digest)).toBe(true);

      await blocker.query("ROLLBACK");
      const deploy = await racing;
      expect(deploy.digest).toBe(digest);
      expect(await store.has(digest)).toBe(true);
      expect(await artifactStatus(digest)).toBe(200);
      expect((await collect(pastGrace())).collected).not.toContain(digest);
      expect(await store.has(digest)).toBe(true);
    });

    it("a pass and an upload of the same digest queued on the artifact's row: the upload wins and its blob stays", async () => {
      const { actor, zip, digest } = await siteWithDeploy("queued");
      await createSite(actor, { name: "second" }, null);
      await deleteSite(actor, "main", null);

      const blocker = await session();
      await blocker.query("BEGIN");
      await blocker.query(`SELECT digest FROM "Artifact" WHERE digest = $1 FOR UPDATE`, [digest]);
      const pass = collect(pastGrace());
      await blockedBehind(blocker, 1);
      const racing = upload(actor, "second", zip);
      await blockedBehind(blocker, 2);

      await blocker.query("COMMIT");
      const [passed, deploy] = await Promise.all([pass, racing]);
      expect(passed.collected).not.toContain(digest);
      expect(deploy.digest).toBe(digest);
      expect(await store.has(digest)).toBe(true);
      expect(await artifactStatus(digest)).toBe(200);
    });

    it("an upload of a digest whose blob is being deleted waits, then stores it again", async () => {
      const { actor, zip, digest } = await siteWithDeploy("rewrite");
      await createSite(actor, { name: "second" }, null);
      await deleteSite(actor, "main", null);

      // A second connection does what a pass does once it has decided: holds
      // the digest's lock exclusively and the row, deletes the blob, then the row.
      const collector = await session();
      await collector.query("BEGIN");
      await collector.query(`SELECT digest FROM "Artifact" WHERE digest = $1 FOR UPDATE`, [digest]);
      await collector.query("SELECT pg_advisory_xact_lock($1, $2)", [DIGEST_LOCK_CLASS, digestLockId(digest)]);
      const racing = upload(actor, "second", zip);
      const finishedEarly = racing.then(
        () => "finished before the deletion",
        (error: unknown) => `failed before the deletion: ${String(error)}`,
      );
      expect(await Promise.race([blockedBehind(collector, 1).then(() => "waiting"), finishedEarly])).toBe("waiting");
      await store.delete(digest);
      await collector.query(`DELETE FROM "Artifact" WHERE digest = $1`, [digest]);
      await collector.query("COMMIT");

      const deploy = await racing;
      expect(deploy.digest).toBe(digest);
      expect(await store.has(digest)).toBe(true);
      expect(await artifactStatus(digest)).toBe(200);
      expect((await db().artifact.findUniqueOrThrow({ where: { digest } })).unreferencedSince).toBeNull();
    });

    it("never collects an artifact a deploy names: shared across tenants, superseded, or named while the pass looks at it", async () => {
      const a = await siteWithDeploy("keeper");
      const newer = await upload(a.actor, "main", await content("keeper v2"));
      const { actor: other } = await newAccount("sharer");
      await createSite(other, { name: "copy" }, null);
      await upload(other, "copy", a.zip);
      await deleteSite(other, "copy", null);

      const far = new Date(Date.now() + 100 * GRACE_MS);
      const pass = await collect(far);
      expect(pass.collected).not.toContain(a.digest);
      expect(pass.collected).not.toContain(newer.digest);
      expect(await store.has(a.digest)).toBe(true);
      expect(await store.has(newer.digest as Digest)).toBe(true);
      expect(await artifactStatus(a.digest)).toBe(200);
      expect(await storedBytesOf(other.tenantId)).toBe(0);

      // A digest that is due when the pass picks it, and gets a deploy (written
      // directly, as other code paths may) while the pass waits for its row.
      const b = await siteWithDeploy("late");
      await deleteSite(b.actor, "main", null);
      await createSite(b.actor, { name: "again" }, null);
      const blocker = await session();
      await blocker.query("BEGIN");
      await blocker.query(`SELECT digest FROM "Artifact" WHERE digest = $1 FOR UPDATE`, [b.digest]);
      const racingPass = collect(pastGrace());
      await blockedBehind(blocker, 1);
      await blocker.query(
        `INSERT INTO "Deploy" (id, "siteId", digest, "sizeBytes", state) SELECT $1, id, $2, $3, 'ready' FROM "Site" WHERE "tenantId" = $4 AND name = 'again'`,
        [`late-${randomBytes(6).toString("hex")}`, b.digest, b.sizeBytes, b.actor.tenantId],
      );
      await blocker.query("COMMIT");
      expect((await racingPass).collected).not.toContain(b.digest);
      expect(await store.has(b.digest)).toBe(true);
      expect(await artifactStatus(b.digest)).toBe(200);
      expect((await db().artifact.findUniqueOrThrow({ where: { digest: b.digest } })).unreferencedSince).toBeNull();
    });

    it("adopts blobs the store has without a row, and collects them after the grace period", async () => {
      const zip = await content("stored before the bookkeeping");
      const { actor } = await newAccount("legacy");
      await createSite(actor, { name: "legacy" }, null);
      const { digest } = await upload(actor, "legacy", zip);
      // As a version without the bookkeeping left it: the blob, no deploy, no row.
      await db().site.deleteMany({ where: { tenantId: actor.tenantId } });
      await db().artifact.delete({ where: { digest: digest! } });
      expect(await store.has(digest as Digest)).toBe(true);

      const first = await collect(new Date(), { adoptStored: true });
      expect(first.adopted).toBeGreaterThanOrEqual(1);
      expect((await db().artifact.findUniqueOrThrow({ where: { digest: digest! } })).unreferencedSince).not.toBeNull();
      expect(await artifactStatus(digest!)).toBe(404);
      const later = await collect(pastGrace());
      expect(later.collected).toContain(digest);
      expect(await store.has(digest as Digest)).toBe(false);
    });

    it("runs one pass at a time across processes", async () => {
      const { actor, digest } = await siteWithDeploy("turns");
      await deleteSite(actor, "main", null);
      const other = await session();
      await other.query("SELECT pg_advisory_lock($1)", [COLLECTOR_LOCK.toString()]);
      const skipped = await collect(pastGrace());
      expect(skipped).toMatchObject({ ran: false, collected: [] });
      expect(await store.has(digest)).toBe(true);
      await other.query("SELECT pg_advisory_unlock($1)", [COLLECTOR_LOCK.toString()]);
      const ran = await collect(pastGrace());
      expect(ran.ran).toBe(true);
      expect(ran.collected).toContain(digest);
      expect(await store.has(digest)).toBe(false);
    });

    it("a refusal after storing removes the blob it wrote, and its row, at once", async () => {
      const { actor, sizeBytes } = await siteWithDeploy("refused");
      await db().tenant.update({ where: { id: actor.tenantId }, data: { maxStoredBytes: BigInt(sizeBytes + 100) } });
      const before = await db().artifact.count();
      const zip = await content("one too many");
      const error = await upload(actor, "main", zip).catch((e: unknown) => e);
      expect(isUploadError(error) && error.status).toBe(413);
      expect(await db().artifact.count()).toBe(before);
    });
  });
}
