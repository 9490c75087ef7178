/**
 * `npm run bench:rollout-tracker`: what following deploy states costs the
 * dashboard and Postgres, and how soon a change reaches the browsers, side by
 * side in one run:
 *   poll:   a pass over every promoted site once a second (the design before
 *           deploy changes were notified);
 *   events: a check of the one site a notification names, and a pass over
 *           every site every 30 s (lib/publishing/follow-rollouts.ts).
 * Each mode sits idle for a window, then sees a series of deploy changes
 * written from another connection, as another dashboard replica would. A
 * measurement, not a test: it asserts nothing about time.
 *
 *   npm run bench:rollout-tracker -- [--sites 2000] [--idle 60] [--changes 20]
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import pg from "pg";
import { ensurePostgres } from "@/scripts/postgres";
import { deployMigrations } from "@/scripts/db/migrate";
import { findFreePort } from "@/scripts/lib/free-port";
import { cpuSeconds } from "./support";

const { values } = parseArgs({
  options: { sites: { type: "string", default: "2000" }, idle: { type: "string", default: "60" }, changes: { type: "string", default: "20" } },
});
const SITES = Number(values.sites);
const IDLE_SECONDS = Number(values.idle);
const CHANGES = Number(values.changes);
const SITES_PER_TENANT = 50;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))] ?? NaN;
const round = (x: number, digits = 1) => Number(x.toFixed(digits));

/** CPU seconds of the server and of every backend, living or already reaped. */
async function postgresCpu(dataDir: string): Promise<number> {
  const postmaster = Number((await readFile(path.join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
  const stat = (pid: number) => (readFileSyncSafe(`/proc/${pid}/stat`).split(") ")[1] ?? "").split(" ");
  const own = stat(postmaster);
  let total = (Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])) / 100;
  for (const entry of await readdir("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const fields = stat(pid);
    if (Number(fields[1]) === postmaster) total += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return total;
}

function readFileSyncSafe(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    // The process ended between listing and reading.
    return "";
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-bench-tracker-"));
  await chmod(dir, 0o755);
  const dataDir = path.join(dir, "data");
  const server = await ensurePostgres({ dataDir, port: await findFreePort(), ephemeral: true });
  try {
    await deployMigrations({ databaseUrl: server.url });
    process.env.DATABASE_URL = server.url;
    for (const name of ["NEXTAUTH_SECRET", "PAGODA_ARTIFACT_SECRET"]) process.env[name] ??= randomBytes(32).toString("hex");
    // Imported only now: the database client reads its URL on first use.
    const { db } = await import("@/lib/db");
    const { trackRollouts } = await import("@/lib/publishing/rollout-tracker");
    const { deployChanges } = await import("@/lib/publishing/deploy-events");
    const { followRollouts } = await import("@/lib/publishing/follow-rollouts");
    const { StatusHub } = await import("@/lib/publishing");

    console.log(`seeding ${SITES} sites, each with a live deploy ...`);
    const sql = new pg.Client({ connectionString: server.url });
    await sql.connect();
    await sql.query(`
      INSERT INTO "Tenant" (id, slug, name) SELECT 't' || t, 'tenant-' || t, 'Tenant ' || t FROM generate_series(1, ${Math.ceil(SITES / SITES_PER_TENANT)}) t;
      INSERT INTO "Site" (id, "tenantId", name, "hostLabel", "updatedAt")
        SELECT 's' || s, 't' || ((s - 1) / ${SITES_PER_TENANT} + 1), 'site-' || s, 'site-' || s || '-tenant', now() FROM generate_series(1, ${SITES}) s;
      INSERT INTO "Deploy" (id, "siteId", digest, state, "liveAt")
        SELECT 'd' || s, 's' || s, 'sha256:' || encode(sha256(s::text::bytea), 'hex'), 'live', now() FROM generate_series(1, ${SITES}) s;
      UPDATE "Site" SET "targetDeployId" = 'd' || substr(id, 2);
    `);

    // Never started: its cache stays empty, so no site looks rolled out and
    // the passes below only read, which is what a quiet system does.
    const hub = new StatusHub(new KubeConfig());
    for (let i = 0; i < 3; i++) await trackRollouts(hub);

    const passMs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await trackRollouts(hub);
      passMs.push(performance.now() - t0);
    }
    const checkMs: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await trackRollouts(hub, [{ siteId: `s${1 + Math.floor(Math.random() * SITES)}` }]);
      checkMs.push(performance.now() - t0);
    }

    const cpuNow = async () => ({ node: cpuSeconds(process.pid), postgres: await postgresCpu(dataDir) });
    let changeNo = 0;
    const measure = async (label: string) => {
      console.log(`${label}: ${IDLE_SECONDS} s idle, then ${CHANGES} deploy changes ...`);
      const before = await cpuNow();
      const idleUntil = Date.now() + IDLE_SECONDS * 1000;
      await new Promise<void>((resolve) => setTimeout(resolve, idleUntil - Date.now()));
      const after = await cpuNow();
      const latencies: number[] = [];
      for (let i = 0; i < CHANGES; i++) {
        // A random gap, so changes do not line up with the poll's clock.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 1000));
        const siteId = `s${1 + Math.floor(Math.random() * SITES)}`;
        changeNo += 1;
        const signalled = new Promise<number>((resolve) => {
          const listener = (changed: string) => {
            if (changed !== siteId) return;
            deployChanges.off("changed", listener);
            resolve(performance.now());
          };
          deployChanges.on("changed", listener);
        });
        const t0 = performance.now();
        await sql.query(`UPDATE "Deploy" SET error = $1 WHERE "siteId" = $2`, [`change ${changeNo}`, siteId]);
        latencies.push((await signalled) - t0);
      }
      const perMinute = 60 / IDLE_SECONDS;
      return {
        idleNodeCpuPerMinute: (after.node - before.node) * perMinute,
        idlePostgresCpuPerMinute: (after.postgres - before.postgres) * perMinute,
        latencyMedianMs: median(latencies),
        latencyP90Ms: p90(latencies),
      };
    };

    // Before: the loop the dashboard used to run.
    let polling = false;
    const pollTimer = setInterval(() => {
      if (polling) return;
      polling = true;
      void trackRollouts(hub).finally(() => {
        polling = false;
      });
    }, 1_000);
    const poll = await measure("poll every 1 s");
    clearInterval(pollTimer);
    while (polling) await new Promise((resolve) => setImmediate(resolve));

    const follower = followRollouts(hub, { connectionString: server.url });
    while (!follower.feedListening()) await new Promise((resolve) => setTimeout(resolve, 20));
    await follower.idle();
    const events = await measure("events");
    await follower.stop();
    await sql.end();
    await db().$disconnect();

    const ms = (x: number) => `${round(x)} ms`;
    const s = (x: number) => `${round(x, 2)} s`;
    console.log("");
    console.table({
      "a pass over every site (one query, both modes)": { "poll every 1 s (before)": ms(median(passMs)), "events (now)": ms(median(passMs)) },
      "a check of one site": { "poll every 1 s (before)": "—", "events (now)": ms(median(checkMs)) },
      "passes per minute when idle": { "poll every 1 s (before)": "60", "events (now)": "2" },
      "dashboard CPU per idle minute": { "poll every 1 s (before)": s(poll.idleNodeCpuPerMinute), "events (now)": s(events.idleNodeCpuPerMinute) },
      "Postgres CPU per idle minute": { "poll every 1 s (before)": s(poll.idlePostgresCpuPerMinute), "events (now)": s(events.idlePostgresCpuPerMinute) },
      "change → browsers told, median": { "poll every 1 s (before)": ms(poll.latencyMedianMs), "events (now)": ms(events.latencyMedianMs) },
      "change → browsers told, p90": { "poll every 1 s (before)": ms(poll.latencyP90Ms), "events (now)": ms(events.latencyP90Ms) },
    });
    console.log(
      JSON.stringify({
        sites: SITES,
        idleSeconds: IDLE_SECONDS,
        changes: CHANGES,
        passMs: round(median(passMs)),
        checkMs: round(median(checkMs), 2),
        poll,
        events,
      }),
    );
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
