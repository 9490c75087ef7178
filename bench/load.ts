/**
 * `npm run bench:load`: the dashboard under load, on real parts started here
 * (a throw-away Postgres with pg_stat_statements, a Kubernetes cluster with a
 * simulated node and the operator, the built dashboard under `next start`):
 *
 *   browse:  `--clients` people browse one workspace of `--sites` sites: the
 *            site list, a site page, and the site's status stream up to its
 *            first event, pausing about `--think-ms` before each click as a
 *            person reads, then all at once with no pauses. Latency
 *            percentiles per kind of request, side by side with one client
 *            alone and with /api/healthz (the cost of any request) requested
 *            in the same rounds as the floor; SQL statements per request,
 *            counted by Postgres.
 *   uploads: `--uploads` zips sent at once from `--upload-tenants` tenants.
 *            Every answer must be 201, or 429 with Retry-After (then sent
 *            again after that delay); Postgres must hold exactly the deploys
 *            that were answered 201, the upload temp directory must be empty
 *            afterwards, and the dashboard's peak RSS is reported next to its
 *            RSS at rest.
 *
 * A measurement, not a test: it asserts nothing about time. Needs `next build`
 * first. Only loopback traffic; every loop is bounded.
 *
 *   npm run bench:load -- [--clients 50] [--sites 1000] [--requests 500]
 *     [--think-ms 1000] [--uploads 50] [--upload-tenants 5] [--upload-kb 1024]
 *     [--cluster both|kwok|shared|none] [--against kwok|shared] [--node-pods <n>] [--profile site-list.cpuprofile]
 *
 * `--cluster both` (the default) runs the whole browse twice, first without a
 * cluster (the baseline), then with one (`--against`: `kwok`, the default, or
 * `shared`), and prints the two side by side; the uploads run once, with the
 * cluster. `kwok` is a simulated node where every site has its own pod;
 * `shared` is a real node with the shared serving pool (docs/serving.md)
 * serving every site, which needs root and the real-node tools. With a cluster, the simulated node gets
 * room for every site's pod and its rollout surge (`--node-pods`), and the
 * paced browse runs twice: while the restart's rollouts are in progress,
 * and once every promoted site is live.
 *
 * Every loaded phase reports the dashboard's event-loop delay and utilisation
 * (read through its inspector, on loopback, only while the phase runs) and
 * the CPU of every process of the run. `--profile <file>` also takes a V8
 * CPU profile of the dashboard over the one-client site list renders (and
 * over as many healthz requests, `<file>` with `-healthz`: the floor) and
 * over each paced phase (`<file>` with `-paced` / `-busy` before the
 * extension), writes them (open them in Chrome DevTools or speedscope) and
 * prints where the time went.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createInterface } from "node:readline";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { clusterProcesses, startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { dashboardNodeOptions } from "@/lib/node-options";
import { SITE_ROLLOUT_SURGE } from "@/lib/staticsite/types";
import { buildZip, noise } from "@/lib/uploads/test-support";
import { deployMigrations } from "@/scripts/db/migrate";
import { operatorEnv, siteAddressEnv } from "@/scripts/dev/stack";
import { operatorCommand } from "@/scripts/operator-build";
import { ensurePostgres, findFreePort, stopPostgres, type RunningPostgres } from "@/scripts/postgres";
import { loopDuring, profileDuring, saveProfile, summarise, type CpuProfile, type LoopFigures } from "./cpu-profile";
import { cpuSeconds, growSimulatedNode, phaseEvents, pool, processName } from "./support";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "50" },
    sites: { type: "string", default: "1000" },
    requests: { type: "string", default: "500" },
    "think-ms": { type: "string", default: "1000" },
    uploads: { type: "string", default: "50" },
    "upload-tenants": { type: "string", default: "5" },
    "upload-kb": { type: "string", default: "1024" },
    cluster: { type: "string", default: "both" },
    against: { type: "string", default: "kwok" },
    "node-pods": { type: "string" },
    profile: { type: "string" },
  },
});
function positive(name: keyof typeof values, min = 1): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number of at least ${min}, got ${values[name]}`);
  return n;
}
const CLIENTS = positive("clients");
const SITES = positive("sites");
const REQUESTS = positive("requests");
const THINK_MS = positive("think-ms", 0);
const UPLOADS = positive("uploads", 0);
const UPLOAD_TENANTS = positive("upload-tenants");
const UPLOAD_BYTES = positive("upload-kb") * 1024;
if (!["both", "kwok", "shared", "none"].includes(values.cluster!)) throw new Error(`--cluster must be both, kwok, shared or none, got ${values.cluster}`);
if (!["kwok", "shared"].includes(values.against!)) throw new Error(`--against must be kwok or shared, got ${values.against}`);
/** Every site's pod and its rollout surge, and room for the system's own; 250 (the node's own figure) leaves most of a big workspace rolling out for ever. */
const NODE_PODS = values["node-pods"] === undefined ? SITES * (1 + SITE_ROLLOUT_SURGE) + 50 : positive("node-pods");
/** "none" runs the dashboard without a cluster: quicker to start, but status streams then only say the cluster is unreachable. */
const WITH_CLUSTER = values.cluster === "kwok" || values.cluster === "shared";
/** Every site served by the shared pool on a real node, instead of a pod each on a simulated one. */
const SHARED = values.cluster === "shared";
const PROFILE_FILE = values.profile ? path.resolve(values.profile) : undefined;
/** How long the dashboard is watched with nobody browsing. */
const QUIET_MS = 20_000;
/** The one-client baseline: enough requests for a median and a p95, fewer than the loaded run. */
const BASELINE_REQUESTS = Math.min(REQUESTS, 100);
const PASSWORD = "a long and varied passphrase";
/** Most times one upload is sent again after a 429; the loop must end even if the server never lets it in. */
const MAX_UPLOAD_ATTEMPTS = 30;
const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

const round = (x: number, digits = 1) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : NaN);
function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seeded, so two runs browse the same sites in the same order. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

// ---------------------------------------------------------------- processes

interface Dashboard {
  pid: number;
  base: string;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

async function startDashboard(env: NodeJS.ProcessEnv, port: number, logFile: string, inspectPort?: number): Promise<Dashboard> {
  // The pool's pods fetch artifacts through the node's bridge, so the dashboard listens there too.
  const host = SHARED ? "0.0.0.0" : "127.0.0.1";
  const nextBin = createRequire(path.join(repoRoot, "package.json")).resolve("next/dist/bin/next");
  const out = createWriteStream(logFile, { flags: "a" });
  const inspect = inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [];
  const child = spawn(process.execPath, [...inspect, nextBin, "start", "-p", String(port), "-H", host], {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the dashboard exited with code ${child.exitCode} while starting; see ${logFile}`);
    const ok = await fetch(`${base}/api/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`the dashboard did not answer /api/healthz within 120 s; see ${logFile}`);
    }
    await sleep(200);
  }
  return { pid: child.pid!, base, stop: () => stopChild(child) };
}

/** The process and all its descendants. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone while we looked.
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

function statusKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident set of the dashboard's whole process tree, in MiB. */
const treeRssMiB = (pid: number) => processTree(pid).reduce((sum, p) => sum + statusKiB(p, "VmRSS"), 0) / 1024;

/** Samples the tree's RSS until stopped; the kernel's own high-water mark (reset at start) backs up the sampling. */
function rssMonitor(pid: number): { stop(): { peakSampledMiB: number; peakKernelMiB: number } } {
  for (const p of processTree(pid)) {
    try {
      // "5" resets VmHWM (the peak RSS) of a process we own.
      writeFileSync(`/proc/${p}/clear_refs`, "5");
    } catch {
      // Not ours to reset; the sampled peak still holds.
    }
  }
  let peak = treeRssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, treeRssMiB(pid))), 50);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, treeRssMiB(pid));
      const kernel = processTree(pid).reduce((sum, p) => sum + statusKiB(p, "VmHWM"), 0) / 1024;
      return { peakSampledMiB: peak, peakKernelMiB: kernel };
    },
  };
}

/** User + system CPU seconds of a process tree, from /proc. */
function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, p) => {
    try {
      return sum + cpuSeconds(p);
    } catch {
      return sum;
    }
  }, 0);
}

/** CPU jiffies of the whole machine: [busy, total]. */
function machineJiffies(): [number, number] {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return [total - fields[3]! - (fields[4] ?? 0), total];
}

/** Processes of this run, by part; read at the start and end of each phase. */
type Parts = Record<string, () => number[]>;

/**
 * How busy the machine was over a phase, and who used it: the parts of this
 * run (the dashboard, Postgres, the cluster, this script's own clients) and
 * everything else. The machine is shared, and other work on it slows every
 * figure; CPU per request does not move with it.
 */
interface MachineFigures {
  text: string;
  busyCores: number;
  /** Cores used by each part of this run, and by everything else ("other"). */
  cores: Record<string, number>;
}
function machineCpu(parts: Parts): { stop(): MachineFigures } {
  // Per process, so that one ending during the phase is only left out (a
  // little under-counted), never subtracted.
  const cpuOf = () => Object.fromEntries(Object.entries(parts).map(([name, pids]) => [name, new Map(pids().map((p) => [p, safeCpu(p)]))]));
  const [busy0, total0] = machineJiffies();
  const before = cpuOf();
  const t0 = performance.now();
  return {
    stop() {
      const [busy1, total1] = machineJiffies();
      const after = cpuOf();
      const cores = os.cpus().length;
      const seconds = (performance.now() - t0) / 1000;
      const busyCores = ((busy1 - busy0) / (total1 - total0)) * cores;
      const used = Object.entries(after).map(
        ([name, cpu]) => [name, [...cpu].reduce((sum, [p, c]) => sum + c - (before[name]!.get(p) ?? 0), 0) / seconds] as const,
      );
      const ours = used.reduce((sum, [, c]) => sum + c, 0);
      const other = Math.max(0, busyCores - ours);
      return {
        text: `machine busy ${round(busyCores, 2)} of ${cores} cores: ${used.map(([name, c]) => `${name} ${round(c, 2)}`).join(", ")}, everything else ${round(other, 2)}`,
        busyCores: round(busyCores, 2),
        cores: { ...Object.fromEntries(used.map(([name, c]) => [name, round(c, 2)])), other: round(other, 2) },
      };
    },
  };
}

function nameOf(pid: number): string {
  try {
    return processName(pid);
  } catch {
    return "";
  }
}

function safeCpu(pid: number): number {
  try {
    return cpuSeconds(pid);
  } catch {
    // Ended since the tree was listed.
    return 0;
  }
}

// ---------------------------------------------------------------- HTTP clients

/** One person's browser: a cookie jar, the CSRF token, loopback only. */
class Client {
  private cookies = new Map<string, string>();
  private csrfToken: string | undefined;
  constructor(readonly base: string) {}

  async call(pathname: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    if (init.method && init.method !== "GET") headers.set("origin", this.base);
    const response = await fetch(new URL(pathname, this.base), { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, ...rest] = pair!.split("=");
      this.cookies.set(name!.trim(), rest.join("="));
    }
    return response;
  }

  async csrf(): Promise<string> {
    this.csrfToken ??= ((await (await this.call("/api/auth/csrf")).json()) as { csrfToken: string }).csrfToken;
    return this.csrfToken;
  }

  async json<T>(pathname: string, body: unknown): Promise<T> {
    const response = await this.call(pathname, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": await this.csrf() },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`POST ${pathname}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** Signs up and in; returns the personal workspace's slug. */
  async signUp(email: string): Promise<string> {
    const { tenant } = await this.json<{ tenant: string }>("/api/signup", { name: "Bench", email, password: PASSWORD });
    await this.signIn(email);
    return tenant;
  }

  async signIn(email: string): Promise<void> {
    const response = await this.call("/api/auth/callback/credentials", {
      method: "POST",
      body: new URLSearchParams({ email, password: PASSWORD, csrfToken: await this.csrf(), json: "true" }),
    });
    await response.body?.cancel();
    if (![200, 302].includes(response.status) || ![...this.cookies.keys()].some((name) => name.includes("session-token"))) {
      throw new Error(`signing in ${email} failed: HTTP ${response.status}`);
    }
  }

  /** A whole page, read to its last byte; its status must be 200. */
  async page(pathname: string): Promise<number> {
    const response = await this.call(pathname);
    const body = await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET ${pathname}: HTTP ${response.status}`);
    return body.byteLength;
  }

  /** The page as React Server Components payload, what router.refresh() fetches; Next.js first redirects to add its cache-busting parameter. */
  async rscPayload(pathname: string): Promise<number> {
    let response = await this.call(pathname, { headers: { rsc: "1" } });
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      response = await this.call(location, { headers: { rsc: "1" } });
    }
    const body = await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET ${pathname} as RSC payload: HTTP ${response.status}`);
    return body.byteLength;
  }

  /** Opens a site's status stream and reads up to the first `phase` event. */
  async firstStatus(tenant: string, site: string): Promise<string> {
    const abort = new AbortController();
    const response = await this.call(`/api/tenants/${tenant}/sites/${site}/status`, { headers: { accept: "text/event-stream" }, signal: abort.signal });
    if (response.status !== 200 || !response.body) throw new Error(`status stream of ${site}: HTTP ${response.status}`);
    try {
      for await (const event of phaseEvents(response.body, site)) return event.phase;
      throw new Error(`the status stream of ${site} ended before its first event`);
    } finally {
      abort.abort();
    }
  }
}

// ---------------------------------------------------------------- Postgres

/**
 * Counts the SQL statements the dashboard sends, from pg_stat_statements.
 * The dashboard connects as `pagoda`; this script reads and seeds as `bench`,
 * so its own statements are never counted.
 */
class StatementCounter {
  constructor(private readonly sql: pg.Client) {}
  async total(): Promise<number> {
    const { rows } = await this.sql.query<{ n: string }>(
      `SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_statements WHERE userid = 'pagoda'::regrole AND dbid = (SELECT oid FROM pg_database WHERE datname = 'pagoda')`,
    );
    return Number(rows[0]!.n);
  }
  async byStatement(): Promise<Map<string, number>> {
    const { rows } = await this.sql.query<{ query: string; calls: string }>(
      `SELECT query, calls FROM pg_stat_statements WHERE userid = 'pagoda'::regrole AND dbid = (SELECT oid FROM pg_database WHERE datname = 'pagoda')`,
    );
    const map = new Map<string, number>();
    for (const row of rows) map.set(row.query, (map.get(row.query) ?? 0) + Number(row.calls));
    return map;
  }
}

async function startPostgres(dataDir: string): Promise<RunningPostgres> {
  const options = { dataDir, port: await findFreePort(), ephemeral: true };
  const first = await ensurePostgres(options);
  const admin = new pg.Client({ connectionString: first.url });
  await admin.connect();
  // Loaded only at server start; postgresql.auto.conf survives the restart.
  await admin.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
  await admin.end();
  await first.stop();
  const server = await ensurePostgres(options);
  const sql = new pg.Client({ connectionString: server.url });
  await sql.connect();
  await sql.query(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`);
  await sql.query(`CREATE ROLE bench LOGIN SUPERUSER`);
  await sql.end();
  return server;
}

/** Columns of a table, so copies of a real row carry whatever columns the schema has today. */
async function columnsOf(sql: pg.Client, table: string): Promise<string[]> {
  const { rows } = await sql.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((row) => row.column_name);
}

/**
 * Fills the workspace up to `sites` sites, most with a few deploys and the
 * newest promoted, by copying the site and deploy that one real upload made
 * (same artifact for all: the browse phase reads rows, it does not serve
 * content). Site i has i % 4 deploys, so a quarter have none.
 */
async function seedWorkspace(sql: pg.Client, tenantSlug: string, templateSite: string, sites: number): Promise<string[]> {
  const q = (name: string) => `"${name}"`;
  const { rows: found } = await sql.query<{ tenantId: string; siteId: string; deployId: string }>(
    `SELECT s."tenantId", s.id AS "siteId", s."targetDeployId" AS "deployId" FROM "Site" s JOIN "Tenant" t ON t.id = s."tenantId" WHERE t.slug = $1 AND s.name = $2`,
    [tenantSlug, templateSite],
  );
  const template = found[0];
  if (!template?.deployId) throw new Error("the template site has no promoted deploy");
  const siteOverrides: Record<string, string> = {
    id: `'bench-s-' || n`,
    name: `'site-' || lpad(n::text, 5, '0')`,
    hostLabel: `'site-' || lpad(n::text, 5, '0') || '-' || $2`,
    targetDeployId: "NULL",
    createdAt: `now() - n * interval '1 minute'`,
    updatedAt: "now()",
    ...(SHARED ? { serving: `'shared'::"ServingMode"` } : {}),
  };
  const siteColumns = await columnsOf(sql, "Site");
  const deployOverrides: Record<string, string> = {
    id: `'bench-d-' || n || '-' || k`,
    siteId: `'bench-s-' || n`,
    state: `(CASE WHEN k = n % 4 THEN 'ready' ELSE 'superseded' END)::"DeployState"`,
    createdAt: `now() - n * interval '1 minute' + k * interval '1 second'`,
    finishedAt: `now() - n * interval '1 minute' + k * interval '1 second'`,
    promotedAt: `now() - n * interval '1 minute' + k * interval '1 second'`,
    liveAt: "NULL",
  };
  const deployColumns = await columnsOf(sql, "Deploy");
  const names = Array.from({ length: sites - 1 }, (_, i) => `site-${String(i + 1).padStart(5, "0")}`);
  await sql.query("BEGIN");
  await sql.query(`UPDATE "Tenant" SET "maxSites" = $1 WHERE slug = $2`, [sites, tenantSlug]);
  if (SHARED) await sql.query(`UPDATE "Site" SET serving = 'shared' WHERE id = $1`, [template.siteId]);
  await sql.query(
    `INSERT INTO "Site" (${siteColumns.map(q).join(", ")})
     SELECT ${siteColumns.map((c) => siteOverrides[c] ?? `t.${q(c)}`).join(", ")}
     FROM "Site" t, generate_series(1, $1::int) n WHERE t.id = $3`,
    [sites - 1, tenantSlug, template.siteId],
  );
  await sql.query(
    `INSERT INTO "Deploy" (${deployColumns.map(q).join(", ")})
     SELECT ${deployColumns.map((c) => deployOverrides[c] ?? `t.${q(c)}`).join(", ")}
     FROM "Deploy" t, generate_series(1, $1::int) n, generate_series(1, 3) k WHERE t.id = $2 AND k <= n % 4`,
    [sites - 1, template.deployId],
  );
  await sql.query(
    `UPDATE "Site" SET "targetDeployId" = id_of.d FROM (SELECT "siteId", 'bench-d-' || substr("siteId", 9) || '-' || max(substr(id, length(id))) AS d FROM "Deploy" WHERE id LIKE 'bench-d-%' GROUP BY "siteId") id_of WHERE "Site".id = id_of."siteId"`,
  );
  await sql.query("COMMIT");
  return [templateSite, ...names];
}

// ---------------------------------------------------------------- the phases

type Kind = "healthz" | "site list" | "site page" | "status, first event";

interface Sample {
  ms: number;
  statements?: number;
}

/** `total` requests of one kind over `width` clients; with one client, the statements of each request too. */
async function runKind(
  clients: Client[],
  width: number,
  total: number,
  counter: StatementCounter | null,
  request: (client: Client, i: number) => Promise<unknown>,
): Promise<Sample[]> {
  const samples: Sample[] = [];
  let next = 0;
  await Promise.all(
    clients.slice(0, width).map(async (client) => {
      while (next < total) {
        const i = next++;
        const before = counter ? await counter.total() : 0;
        const t0 = performance.now();
        await request(client, i);
        const ms = performance.now() - t0;
        samples.push(counter ? { ms, statements: (await counter.total()) - before } : { ms });
      }
    }),
  );
  return samples;
}

interface KindFigures {
  p50: number;
  p95: number;
  p99: number;
  n: number;
}
const figures = (samples: Sample[]): KindFigures => {
  const ms = samples.map((s) => s.ms);
  return { p50: round(percentile(ms, 50)), p95: round(percentile(ms, 95)), p99: round(percentile(ms, 99)), n: ms.length };
};

async function main(): Promise<void> {
  const started = Date.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-bench-load-"));
  await chmod(dir, 0o755);
  const uploadTmp = path.join(dir, "dashboard-tmp");
  await mkdir(uploadTmp, { recursive: true });
  const cleanups: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error("clean-up failed:", error));
  };
  process.once("SIGINT", () => void cleanUp().then(() => process.exit(130)));
  const say = (message: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);

  try {
    const startsCluster = WITH_CLUSTER ? `, a cluster (${SHARED ? "a real node and the shared pool" : "a simulated node"}) and the operator` : "";
    say(`Postgres with pg_stat_statements${startsCluster} ... (logs in ${dir})`);
    const dataDir = path.join(dir, "pg");
    // Registered first, so a failure half-way through starting still stops the server.
    cleanups.push(() => stopPostgres(dataDir).then(() => undefined));
    const postgres = await startPostgres(dataDir);
    await deployMigrations({ databaseUrl: postgres.url });
    const sql = new pg.Client({ connectionString: postgres.url.replace("//pagoda@", "//bench@") });
    await sql.connect();
    cleanups.push(() => sql.end());
    const counter = new StatementCounter(sql);

    let cluster: TestCluster | undefined;
    let operatorPid: number | undefined;
    let poolStore: string | undefined;
    if (WITH_CLUSTER) {
      cluster = await startTestCluster(SHARED ? { node: "node", poolImage: true, timeoutSeconds: 300 } : { node: "kwok" });
      cleanups.push(() => cluster!.stop());
      if (SHARED) {
        poolStore = path.join(dir, "pool-store");
        await mkdir(poolStore);
        await chown(poolStore, 101, 101);
      } else {
        await growSimulatedNode(cluster.kubeconfigPath, NODE_PODS);
      }
      const { command, args } = await operatorCommand((message) => say(message));
      const operatorLog = createWriteStream(path.join(dir, "operator.log"));
      const pool = poolStore ? { image: cluster.poolImage!, storeDir: poolStore } : null;
      const operator = spawn(command, args, {
        env: { ...operatorEnv(cluster.kubeconfigPath, await findFreePort(), siteAddressEnv(null), pool), LOG_LEVEL: "warn" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      operator.stdout.pipe(operatorLog);
      operator.stderr.pipe(operatorLog);
      cleanups.push(() => stopChild(operator));
      operatorPid = operator.pid;
    }

    const port = await findFreePort();
    const base = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: "production",
      NODE_OPTIONS: dashboardNodeOptions(process.env.NODE_OPTIONS),
      LOG_LEVEL: "warn",
      DATABASE_URL: postgres.url,
      NEXTAUTH_URL: base,
      NEXTAUTH_SECRET: randomBytes(32).toString("base64url"),
      PAGODA_ARTIFACT_SECRET: randomBytes(32).toString("base64url"),
      PAGODA_DATA_DIR: path.join(dir, "data"),
      PAGODA_ARTIFACT_BASE_URL: SHARED ? `http://${cluster!.nodeAddress}:${port}` : base,
      PAGODA_SITE_SCHEME: "http",
      KUBECONFIG: cluster?.kubeconfigPath,
      // Uploads stage their files under the OS temp dir: a private one, so it can be checked empty afterwards.
      TMPDIR: uploadTmp,
      // Every client signs up and in from 127.0.0.1.
      PAGODA_SIGNUPS_PER_IP: "100000",
      PAGODA_SIGNIN_ATTEMPTS_PER_IP: "100000",
      PAGODA_SIGNIN_ATTEMPTS_PER_EMAIL: "100000",
    };
    if (!cluster) delete env.KUBECONFIG;
    const dashboardLog = path.join(dir, "dashboard.log");
    let dashboard = await startDashboard(env, port, dashboardLog);
    cleanups.push(() => dashboard.stop());

    // ---- accounts and the big workspace
    say(`${CLIENTS} people sign up; the first one's workspace gets ${SITES} sites ...`);
    const runId = randomBytes(3).toString("hex");
    const emails = Array.from({ length: CLIENTS }, (_, i) => `browse-${runId}-${i}@example.com`);
    const browsers = emails.map(() => new Client(base));
    const owner = browsers[0]!;
    const tenant = await owner.signUp(emails[0]!);
    await owner.json(`/api/tenants/${tenant}/sites`, { name: "template" });
    const templateZip = await buildZip([
      { name: "index.html", data: "<!doctype html><title>bench</title><h1>bench</h1>" },
      { name: "app.js", data: "console.log(1);\n".repeat(200) },
    ]);
    const uploaded = await owner.call(`/api/tenants/${tenant}/sites/template/deploys`, {
      method: "POST",
      headers: { "content-type": "application/zip", "x-csrf-token": await owner.csrf() },
      body: new Uint8Array(templateZip),
    });
    if (uploaded.status !== 201) throw new Error(`the template upload failed: ${uploaded.status} ${await uploaded.text()}`);
    const siteNames = await seedWorkspace(sql, tenant, "template", SITES);
    await pool(
      browsers.slice(1).map((client, i) => ({ client, email: emails[i + 1]! })),
      4,
      ({ client, email }) => client.signUp(email),
    );
    // No invitations yet: the other people join the workspace as members, as an owner would add them.
    await sql.query(
      `INSERT INTO "Membership" (id, "userId", "tenantId", role)
       SELECT 'bench-m-' || u.id, u.id, t.id, 'member' FROM "User" u, "Tenant" t WHERE t.slug = $1 AND u.email = ANY($2::text[]) AND u.email <> $3`,
      [tenant, emails, emails[0]],
    );

    // A restart publishes every seeded site at start, as after an upgrade.
    say("restarting the dashboard: it publishes every promoted site, and the operator rolls them out ...");
    await dashboard.stop();
    // The inspector is only listened on; the bench attaches while it measures a loaded phase.
    const inspectPort = await findFreePort();
    dashboard = await startDashboard(env, port, dashboardLog, inspectPort);
    const promoted = Number(
      (
        await sql.query<{ n: string }>(
          `SELECT count(*) AS n FROM "Site" s JOIN "Tenant" t ON t.id = s."tenantId" WHERE t.slug = $1 AND s."targetDeployId" IS NOT NULL`,
          [tenant],
        )
      ).rows[0]!.n,
    );
    const liveCount = async () =>
      Number(
        (
          await sql.query<{ n: string }>(
            `SELECT count(*) AS n FROM "Site" s JOIN "Tenant" t ON t.id = s."tenantId" JOIN "Deploy" d ON d.id = s."targetDeployId" WHERE t.slug = $1 AND d.state = 'live'`,
            [tenant],
          )
        ).rows[0]!.n,
      );
    const postmaster = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    const clusterPart = (names: string[]) => () => (cluster ? clusterProcesses(cluster.stateDir).filter((p) => names.includes(nameOf(p))) : []);
    const parts: Parts = {
      dashboard: () => processTree(dashboard.pid),
      Postgres: () => processTree(postmaster),
      ...(cluster
        ? {
            "API server": clusterPart(["kube-apiserver"]),
            etcd: clusterPart(["etcd"]),
            ...(SHARED
              ? { "node (kubelet, containerd, kube-proxy, Traefik)": clusterPart(["kubelet", "containerd", "kube-proxy", "traefik"]) }
              : { kwok: clusterPart(["kwok"]) }),
            "controller manager and scheduler": clusterPart(["kube-controller-manager", "kube-scheduler"]),
            operator: () => (operatorPid ? processTree(operatorPid) : []),
          }
        : {}),
      "this script (the clients)": () => [process.pid],
    };

    // ---- browse
    const random = prng(13);
    const pick = () => siteNames[Math.floor(random() * siteNames.length)]!;
    const kinds: Record<Exclude<Kind, "healthz">, (client: Client) => Promise<unknown>> = {
      "site list": (client) => client.page(`/w/${tenant}`),
      "site page": (client) => client.page(`/w/${tenant}/sites/${pick()}`),
      "status, first event": (client) => client.firstStatus(tenant, pick()),
    };
    say("warming up ...");
    for (const request of Object.values(kinds)) await runKind(browsers, CLIENTS, CLIENTS * 2, null, request);
    await runKind(browsers, CLIENTS, CLIENTS * 2, null, (client) => client.page("/api/healthz"));

    const profileFile = (suffix: string) => PROFILE_FILE && PROFILE_FILE.replace(/(\.cpuprofile)?$/, `-${suffix}$1`);
    const profiles: { phase: string; file: string; profile: CpuProfile }[] = [];
    /**
     * Every client runs rounds of /api/healthz → site list → site page →
     * status stream until `REQUESTS` rounds are done; healthz in each round
     * is the floor measured under the same load. The dashboard's event loop
     * is watched over the phase (and profiled with --profile).
     */
    const browse = async (name: string, thinkMs: number, profileAs?: string) => {
      const samples = new Map<Kind, Sample[]>((["healthz", ...Object.keys(kinds)] as Kind[]).map((kind) => [kind, []]));
      const requests: [Kind, (client: Client) => Promise<unknown>][] = [
        ["healthz", (client) => client.page("/api/healthz")],
        ...(Object.entries(kinds) as [Kind, (client: Client) => Promise<unknown>][]),
      ];
      const liveBefore = await liveCount();
      const memory = rssMonitor(dashboard.pid);
      const machine = machineCpu(parts);
      const before = await counter.total();
      const cpu0 = treeCpuSeconds(dashboard.pid);
      const t0 = performance.now();
      let rounds = 0;
      const file = profileAs ? profileFile(profileAs) : undefined;
      const { loop, profile } = await loopDuring(
        inspectPort,
        async () => {
          await Promise.all(
            browsers.map(async (client) => {
              while (rounds < REQUESTS) {
                rounds++;
                for (const [kind, request] of requests) {
                  // A person reads before the next click; spread so that clients do not move in step.
                  if (thinkMs) await sleep(thinkMs * (0.5 + random()));
                  const started = performance.now();
                  await request(client);
                  samples.get(kind)!.push({ ms: performance.now() - started });
                }
              }
            }),
          );
        },
        file ? 1_000 : undefined,
      );
      const seconds = (performance.now() - t0) / 1000;
      const cpuMs = (treeCpuSeconds(dashboard.pid) - cpu0) * 1000;
      if (file && profile) {
        await saveProfile(profile, file);
        profiles.push({ phase: name, file, profile });
      }
      const liveAfter = await liveCount();
      return {
        name,
        thinkMs,
        samples,
        seconds,
        cpuMs,
        statements: (await counter.total()) - before,
        memory: memory.stop(),
        machine: machine.stop(),
        loop,
        liveBefore,
        liveAfter,
      };
    };
    const phases: Awaited<ReturnType<typeof browse>>[] = [];
    const pacedName = (thinkMs: number) => `${CLIENTS} clients, ~${thinkMs} ms pauses`;

    /** What the dashboard does with nobody browsing: its background work alone (the cluster's, with one). */
    const quiet = async (name: string) => {
      const machine = machineCpu(parts);
      const before = await counter.total();
      const cpu0 = treeCpuSeconds(dashboard.pid);
      const t0 = performance.now();
      const { loop } = await loopDuring(inspectPort, async () => {
        await sleep(QUIET_MS);
      });
      const seconds = (performance.now() - t0) / 1000;
      const figures = {
        name,
        seconds: round(seconds),
        dashboardCores: round((treeCpuSeconds(dashboard.pid) - cpu0) / seconds, 3),
        statementsPerSecond: round(((await counter.total()) - before) / seconds, 1),
        loop,
        machine: machine.stop(),
      };
      say(
        `${name}: dashboard ${figures.dashboardCores} cores, ${figures.statementsPerSecond} SQL statements/s, event loop busy ${round(loop.utilisation * 100)} %, timer late p99 ${round(loop.delayP99)} / max ${round(loop.delayMax)} ms; ${figures.machine.text}`,
      );
      return figures;
    };
    const quietPhases: Awaited<ReturnType<typeof quiet>>[] = [];

    // The restart's rollouts are under way: people browse while they are, as after an upgrade.
    const liveAtRestart = await liveCount();
    if (WITH_CLUSTER && liveAtRestart < promoted) quietPhases.push(await quiet(`no requests for ${QUIET_MS / 1000} s, rollouts in progress`));
    if (WITH_CLUSTER && THINK_MS > 0 && liveAtRestart < promoted) {
      say(`${CLIENTS} clients browse while ${promoted - liveAtRestart} of ${promoted} rollouts are in progress, about ${THINK_MS} ms between requests ...`);
      phases.push(await browse(`${pacedName(THINK_MS)}, rollouts in progress`, THINK_MS, "busy"));
    }

    const liveDeadline = Date.now() + (WITH_CLUSTER ? 15 * 60_000 : 0);
    let live = await liveCount();
    let lastReport = Date.now();
    let lastProgress = Date.now();
    // Bounded twice: an overall deadline, and a rollout that has stopped moving for 90 s.
    while (live < promoted && Date.now() < liveDeadline && Date.now() - lastProgress < 90_000) {
      await sleep(1_000);
      const now = await liveCount();
      if (now > live) lastProgress = Date.now();
      live = now;
      if (Date.now() - lastReport > 15_000) {
        say(`  ${live} of ${promoted} promoted sites live`);
        lastReport = Date.now();
      }
    }
    say(`${live} of ${promoted} promoted sites live; ${SITES - promoted} have no deploy`);
    quietPhases.push(await quiet(`no requests for ${QUIET_MS / 1000} s${WITH_CLUSTER ? `, ${live} of ${promoted} live` : ""}`));

    const listBytes = await owner.page(`/w/${tenant}`);
    const rowsOn = async (query: string) => (await (await owner.call(`/w/${tenant}${query}`)).text()).split('data-testid="site-row"').length - 1;
    const listRows = await rowsOn("");
    const lastPage = Math.ceil(SITES / listRows);
    // What router.refresh() fetches when a site changes: the page as React Server Components payload, no HTML.
    const rscBytes = await owner.rscPayload(`/w/${tenant}`);
    say(
      `site list: ${listRows} rows, ${round(listBytes / 1024)} KiB of HTML (${round(rscBytes / 1024)} KiB as RSC payload alone); ${await rowsOn(`?page=${lastPage}`)} rows on page ${lastPage}, ${await rowsOn(`?page=${lastPage + 1}`)} on page ${lastPage + 1}`,
    );

    say(`one client, ${BASELINE_REQUESTS} requests of each kind, SQL statements counted per request ...`);
    const one = new Map<Kind, Sample[]>();
    /** Dashboard CPU per request, alone: unlike time, it hardly depends on what else the machine runs. */
    const cpuPerRequest = new Map<Kind, number>();
    for (const [kind, request] of [["healthz", (client: Client) => client.page("/api/healthz")], ...Object.entries(kinds)] as [
      Kind,
      (client: Client) => Promise<unknown>,
    ][]) {
      const cpu0 = treeCpuSeconds(dashboard.pid);
      one.set(kind, await runKind(browsers, 1, BASELINE_REQUESTS, counter, request));
      cpuPerRequest.set(kind, ((treeCpuSeconds(dashboard.pid) - cpu0) * 1000) / BASELINE_REQUESTS);
    }

    const profileReport: string[] = [];
    if (inspectPort && PROFILE_FILE) {
      // The floor every request pays (healthz reads nothing), then a whole render: what is left of the second is the page's own.
      const profiled: [Kind, string, (client: Client) => Promise<unknown>][] = [
        ["healthz", PROFILE_FILE.replace(/(\.cpuprofile)?$/, "-healthz$1"), (client) => client.page("/api/healthz")],
        ["site list", PROFILE_FILE, kinds["site list"]],
      ];
      for (const [kind, file, request] of profiled) {
        say(`profiling the dashboard over ${BASELINE_REQUESTS} ${kind} requests, one client ...`);
        const profile = await profileDuring(inspectPort, async () => {
          await runKind(browsers, 1, BASELINE_REQUESTS, null, request);
        });
        await saveProfile(profile, file);
        const summary = summarise(profile);
        const perRequest = (ms: number) => `${round(ms / BASELINE_REQUESTS, 2)} ms`;
        profileReport.push(
          `CPU profile of ${BASELINE_REQUESTS} ${kind} requests (${file}): the dashboard's main thread was busy ${perRequest(summary.activeMs)} per request (wall-clock samples: on a busy machine they include waits for a core, so compare origins, and take CPU from the table); self time per request by origin:`,
          ...summary.groups.map(([group, ms]) => `  ${perRequest(ms).padStart(9)}  ${group}`),
          "self time of the built app per request, by source file:",
          ...summary.sources.slice(0, 10).map(([source, ms]) => `  ${perRequest(ms).padStart(9)}  ${source}`),
          "functions with the most self time, per request:",
          ...summary.top.map(([fn, ms]) => `  ${perRequest(ms).padStart(9)}  ${fn}`),
        );
      }
    }

    // Which statements one site list render sends, by text (for the report).
    await sql.query("SELECT pg_stat_statements_reset()");
    await owner.page(`/w/${tenant}`);
    const listStatements = await counter.byStatement();

    for (const thinkMs of THINK_MS > 0 ? [THINK_MS, 0] : [0]) {
      say(
        `${CLIENTS} clients browse: ${REQUESTS} rounds of healthz → site list → site page → status stream, ${thinkMs ? `about ${thinkMs} ms between requests` : "no pause between requests"} ...`,
      );
      phases.push(await browse(thinkMs ? pacedName(thinkMs) : `${CLIENTS} clients, no pauses`, thinkMs, thinkMs ? "paced" : undefined));
    }

    // ---- report
    const statsOf = (samples: Sample[]) => {
      const counts = samples.map((s) => s.statements!).filter((n) => Number.isFinite(n));
      return { median: percentile(counts, 50), min: Math.min(...counts), max: Math.max(...counts) };
    };
    const perRound = (["site list", "site page", "status, first event"] as Kind[]).reduce((sum, kind) => sum + statsOf(one.get(kind)!).median, 0);
    const table: Record<string, Record<string, string | number>> = {};
    for (const kind of ["healthz", "site list", "site page", "status, first event"] as Kind[]) {
      const alone = figures(one.get(kind)!);
      const statements = statsOf(one.get(kind)!);
      const row: Record<string, string | number> = { "1 client p50 / p95 / p99": `${alone.p50} / ${alone.p95} / ${alone.p99}` };
      for (const phase of phases) {
        const busy = figures(phase.samples.get(kind)!);
        const floor = figures(phase.samples.get("healthz")!);
        row[`${phase.name}: p50 / p95 / p99`] = `${busy.p50} / ${busy.p95} / ${busy.p99}`;
        if (kind !== "healthz") row[`p95 ÷ healthz p95 (${phase.name})`] = round(busy.p95 / floor.p95);
      }
      row["SQL statements (median, min–max)"] = `${statements.median} (${statements.min}–${statements.max})`;
      row["dashboard CPU ms"] = round(cpuPerRequest.get(kind)!);
      table[kind] = row;
    }
    console.log("");
    console.log(
      `Browse: a workspace of ${SITES} sites (${promoted} promoted, ${live} live); the site list's first page has ${listRows} rows, ${round(listBytes / 1024)} KiB of HTML, ${round(rscBytes / 1024)} KiB of RSC payload; times in ms`,
    );
    console.table(table);
    for (const phase of phases) {
      console.log(
        `${phase.name}: ${REQUESTS} rounds in ${round(phase.seconds)} s (${round((REQUESTS * 4) / phase.seconds)} requests/s); dashboard CPU ${round(phase.cpuMs / REQUESTS)} ms per round (one client alone: ${round([...cpuPerRequest.values()].reduce((a, b) => a + b, 0))}); SQL statements ${phase.statements} = ${round(phase.statements / REQUESTS, 2)} per round (one client alone: ${perRound}); dashboard RSS peak ${round(phase.memory.peakKernelMiB)} MiB; ${phase.machine.text}`,
      );
      console.log(
        `  dashboard event loop: busy ${round(phase.loop.utilisation * 100)} % of the time; a 10 ms timer late by p50 ${round(phase.loop.delayP50)} / p90 ${round(phase.loop.delayP90)} / p99 ${round(phase.loop.delayP99)} / max ${round(phase.loop.delayMax)} ms${WITH_CLUSTER ? `; live sites ${phase.liveBefore} → ${phase.liveAfter} of ${promoted}` : ""}`,
      );
    }
    console.log("statements of one site list render:");
    for (const [query, calls] of listStatements) console.log(`  ${calls} × ${query.replace(/\s+/g, " ").slice(0, 160)}`);
    const listQueries = statsOf(one.get("site list")!).median;
    for (const phase of phases) {
      const listP95 = figures(phase.samples.get("site list")!).p95;
      console.log(`target: site list p95 ≤ 150 ms, ${phase.name}: ${listP95} ms, ${listP95 <= 150 ? "met" : "NOT met"}`);
    }
    console.log(`target: ≤ 3 SQL statements per site list render: ${listQueries}, ${listQueries <= 3 ? "met" : "NOT met"}`);
    for (const line of profileReport) console.log(line);
    for (const { phase, file, profile } of profiles) {
      const summary = summarise(profile);
      const seconds = (profile.endTime - profile.startTime) / 1e6;
      const share = (ms: number) => `${round(ms / 1000 / seconds, 3).toFixed(3)} cores`.padStart(12);
      console.log(
        `CPU profile of the dashboard over "${phase}" (${file}, ${round(seconds)} s): main thread busy ${share(summary.activeMs).trim()}; by the app's file nearest on the stack:`,
      );
      for (const [caller, ms] of summary.callers) console.log(`  ${share(ms)}  ${caller}`);
      console.log("  self time by origin:");
      for (const [group, ms] of summary.groups.slice(0, 10)) console.log(`  ${share(ms)}  ${group}`);
      console.log("  self time of the built app by source file:");
      for (const [source, ms] of summary.sources.slice(0, 10)) console.log(`  ${share(ms)}  ${source}`);
      console.log("  functions with the most self time:");
      for (const [fn, ms] of summary.top.slice(0, 15)) console.log(`  ${share(ms)}  ${fn}`);
      console.log("  the stacks with the most self time (innermost first):");
      for (const [stack, ms] of summary.stacks) console.log(`  ${share(ms)}  ${stack.join(" ← ")}`);
    }

    let uploadFigures: Record<string, unknown> | null = null;
    if (UPLOADS > 0) {
      // ---- uploads
      say(
        `${UPLOAD_TENANTS} tenants with ${Math.ceil(UPLOADS / UPLOAD_TENANTS)} sites each; building ${UPLOADS} distinct zips of ${round(UPLOAD_BYTES / 1024)} KiB ...`,
      );
      const uploaders = Array.from({ length: UPLOAD_TENANTS }, () => new Client(base));
      const uploadTenants = await Promise.all(uploaders.map((client, i) => client.signUp(`upload-${runId}-${i}@example.com`)));
      const jobs = await Promise.all(
        Array.from({ length: UPLOADS }, async (_, i) => {
          const t = i % UPLOAD_TENANTS;
          return {
            client: uploaders[t]!,
            tenant: uploadTenants[t]!,
            site: `up-${Math.floor(i / UPLOAD_TENANTS)}`,
            zip: await buildZip([
              { name: "index.html", data: `<!doctype html><title>upload ${i}</title><h1>${runId} ${i}</h1>` },
              { name: "assets/app.js", data: `/* ${i} */\n` + "console.log(1);\n".repeat(Math.floor(UPLOAD_BYTES / 4 / 16)) },
              { name: "assets/data.bin", data: noise(Math.floor((UPLOAD_BYTES * 3) / 4), i + 1), compress: false },
            ]),
          };
        }),
      );
      for (const job of jobs.filter((job, i) => jobs.findIndex((other) => other.tenant === job.tenant && other.site === job.site) === i)) {
        await job.client.json(`/api/tenants/${job.tenant}/sites`, { name: job.site });
      }
      await Promise.all(uploaders.map((client) => client.csrf()));
      say(`${UPLOADS} uploads at once ...`);
      const rssAtRest = treeRssMiB(dashboard.pid);
      const uploadRss = rssMonitor(dashboard.pid);
      const uploadMachine = machineCpu(parts);
      interface Attempt {
        status: number;
        retryAfter: string | null;
        code: string | null;
        ms: number;
      }
      const uploadStarted = performance.now();
      const results = await Promise.all(
        jobs.map(async (job) => {
          const attempts: Attempt[] = [];
          let deployId: string | null = null;
          while (attempts.length < MAX_UPLOAD_ATTEMPTS) {
            const t0 = performance.now();
            const response = await job.client.call(`/api/tenants/${job.tenant}/sites/${job.site}/deploys`, {
              method: "POST",
              headers: { "content-type": "application/zip", "x-csrf-token": await job.client.csrf() },
              body: new Uint8Array(job.zip),
            });
            const text = await response.text();
            const body = (() => {
              try {
                return JSON.parse(text) as { deploy?: { id: string }; error?: { code?: string }; code?: string };
              } catch {
                return {};
              }
            })();
            attempts.push({
              status: response.status,
              retryAfter: response.headers.get("retry-after"),
              code: body.error?.code ?? body.code ?? null,
              ms: performance.now() - t0,
            });
            if (response.status === 201) {
              deployId = body.deploy?.id ?? null;
              break;
            }
            const retryAfter = Number(response.headers.get("retry-after"));
            if (response.status !== 429 || !Number.isFinite(retryAfter) || retryAfter < 0) break;
            // Honour the server's delay, jittered so the retries do not arrive as one wave.
            await sleep(Math.min(retryAfter, 60) * 1000 * (1 + random() * 0.5));
          }
          return { job, attempts, deployId };
        }),
      );
      const uploadSeconds = (performance.now() - uploadStarted) / 1000;
      const uploadMemory = uploadRss.stop();
      const uploadMachineFigures = uploadMachine.stop();
      const rssAfter = treeRssMiB(dashboard.pid);

      const rows = await sql.query<{ id: string; tenant: string; site: string }>(
        `SELECT d.id, t.slug AS tenant, s.name AS site FROM "Deploy" d JOIN "Site" s ON s.id = d."siteId" JOIN "Tenant" t ON t.id = s."tenantId" WHERE t.slug = ANY($1::text[])`,
        [uploadTenants],
      );
      const stored = new Set(rows.rows.map((row) => row.id));
      const answered = results.filter((r) => r.deployId).map((r) => r.deployId!);
      const lost = answered.filter((id) => !stored.has(id));
      const unanswered = rows.rows.filter((row) => !answered.includes(row.id));
      const leftInTmp = await readdir(uploadTmp);
      const firstAnswers = new Map<string, number>();
      const allAnswers = new Map<string, number>();
      const tally = (map: Map<string, number>, a: Attempt) => {
        const key = a.status === 429 ? `429 ${a.retryAfter === null ? "WITHOUT Retry-After" : "with Retry-After"}` : `${a.status}${a.code ? ` ${a.code}` : ""}`;
        map.set(key, (map.get(key) ?? 0) + 1);
      };
      for (const r of results) {
        tally(firstAnswers, r.attempts[0]!);
        for (const a of r.attempts) tally(allAnswers, a);
      }
      const wrong = results.flatMap((r) => r.attempts).filter((a) => a.status !== 201 && !(a.status === 429 && a.retryAfter !== null));
      const accepted = results.flatMap((r) => r.attempts.filter((a) => a.status === 201).map((a) => a.ms));

      console.log("");
      console.log(`Uploads: ${UPLOADS} at once from ${UPLOAD_TENANTS} tenants, ${round(UPLOAD_BYTES / 1024)} KiB each`);
      console.table({
        "first answers": Object.fromEntries(firstAnswers),
        "all answers (with retries)": Object.fromEntries(allAnswers),
      });
      const retryAfters = results.flatMap((r) => r.attempts.filter((a) => a.status === 429 && a.retryAfter !== null).map((a) => Number(a.retryAfter)));
      console.log(
        `all uploads answered after ${round(uploadSeconds)} s${retryAfters.length ? `; Retry-After ${Math.min(...retryAfters)}–${Math.max(...retryAfters)} s` : ""}; ${uploadMachineFigures.text}`,
      );
      console.log(
        `answers other than 201 or 429 with Retry-After: ${wrong.length}${wrong.length ? ` (${wrong.map((a) => `${a.status} ${a.code ?? ""}`).join(", ")})` : ""}`,
      );
      console.log(`uploads that never got in after ${MAX_UPLOAD_ATTEMPTS} attempts: ${results.filter((r) => !r.deployId).length}`);
      console.log(
        `accepted upload time p50 / p95 / max: ${round(percentile(accepted, 50))} / ${round(percentile(accepted, 95))} / ${round(Math.max(...accepted))} ms`,
      );
      console.log(
        `deploys answered 201: ${answered.length}; rows in Postgres: ${rows.rowCount}; answered but missing: ${lost.length}; rows nobody was told about: ${unanswered.length}`,
      );
      console.log(
        `upload temp directory afterwards: ${leftInTmp.length === 0 ? "empty" : `${leftInTmp.length} entries left: ${leftInTmp.slice(0, 10).join(", ")}`}`,
      );
      console.log(
        `dashboard RSS: ${round(rssAtRest)} MiB at rest, peak ${round(uploadMemory.peakSampledMiB)} MiB sampled (${round(uploadMemory.peakKernelMiB)} MiB by the kernel) during the uploads, ${round(rssAfter)} MiB after`,
      );
      uploadFigures = {
        firstAnswers: Object.fromEntries(firstAnswers),
        allAnswers: Object.fromEntries(allAnswers),
        wrong: wrong.length,
        answered: answered.length,
        rows: rows.rowCount,
        lost: lost.length,
        unanswered: unanswered.length,
        leftInTmp: leftInTmp.length,
        rssMiB: { atRest: round(rssAtRest), uploadPeak: round(uploadMemory.peakKernelMiB), after: round(rssAfter) },
      };
    }
    console.log(
      JSON.stringify({
        clients: CLIENTS,
        sites: SITES,
        requests: REQUESTS,
        thinkMs: THINK_MS,
        cluster: WITH_CLUSTER ? values.cluster : "none",
        quiet: quietPhases.map((q) => ({ ...q, machine: q.machine.cores, machineBusyCores: q.machine.busyCores })),
        promoted,
        live,
        listRows,
        browse: phases.map((phase) => ({
          name: phase.name,
          thinkMs: phase.thinkMs,
          loop: phase.loop,
          cores: phase.machine.cores,
          machineBusyCores: phase.machine.busyCores,
          liveBefore: phase.liveBefore,
          liveAfter: phase.liveAfter,
          seconds: round(phase.seconds),
          cpuMsPerRound: round(phase.cpuMs / REQUESTS),
          statementsPerRound: round(phase.statements / REQUESTS, 2),
          rssPeakMiB: round(phase.memory.peakKernelMiB),
          ...Object.fromEntries([...phase.samples].map(([kind, samples]) => [kind, figures(samples)])),
        })),
        oneClient: Object.fromEntries(
          [...one].map(([kind, samples]) => [kind, { ...figures(samples), statements: statsOf(samples), cpuMs: round(cpuPerRequest.get(kind)!) }]),
        ),
        uploads: uploadFigures,
      }),
    );
  } catch (error) {
    // The run's directory goes with the clean-up: keep what the dashboard said last.
    const log = await readFile(path.join(dir, "dashboard.log"), "utf8").catch(() => "");
    if (log) console.error(`last lines of the dashboard's log:\n${log.trimEnd().split("\n").slice(-40).join("\n")}`);
    throw error;
  } finally {
    await cleanUp();
  }
}

interface PhaseJson {
  name: string;
  seconds: number;
  cpuMsPerRound: number;
  loop: LoopFigures;
  cores: Record<string, number>;
  machineBusyCores: number;
  liveBefore: number;
  liveAfter: number;
  [kind: string]: unknown;
}
interface QuietJson {
  name: string;
  dashboardCores: number;
  statementsPerSecond: number;
  loop: LoopFigures;
}
interface RunJson {
  cluster: string;
  quiet: QuietJson[];
  promoted: number;
  live: number;
  browse: PhaseJson[];
  oneClient: Record<string, KindFigures & { cpuMs: number; statements: { median: number } }>;
}

/**
 * `--cluster both`: this script once without a cluster, then once with one,
 * each in a process of its own (everything it starts is stopped in between),
 * and the figures of the two side by side. Uploads run only with the cluster.
 */
async function both(): Promise<void> {
  const args = process.argv.slice(2);
  const without = (name: string) => {
    const out: string[] = [];
    for (let i = 0; i < args.length; i++) {
      if (args[i] === `--${name}`) i++;
      else if (!args[i]!.startsWith(`--${name}=`)) out.push(args[i]!);
    }
    return out;
  };
  const runs: RunJson[] = [];
  const against = values.against as "kwok" | "shared";
  for (const mode of ["none", against] as const) {
    const profile = values.profile ? ["--profile", path.resolve(values.profile).replace(/(\.cpuprofile)?$/, `-${mode}$1`)] : [];
    const modeArgs = [...without("cluster").filter((_, i, all) => all[i] !== "--profile" && all[i - 1] !== "--profile"), ...profile, "--cluster", mode];
    const childArgs = mode === "none" ? [...modeArgs.filter((_, i, all) => all[i] !== "--uploads" && all[i - 1] !== "--uploads"), "--uploads", "0"] : modeArgs;
    console.log(`==== --cluster ${mode} ====`);
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...childArgs], { stdio: ["ignore", "pipe", "inherit"] });
    let last = "";
    for await (const line of createInterface({ input: child.stdout })) {
      console.log(line);
      if (line.startsWith('{"clients"')) last = line;
    }
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", resolve)));
    if (code !== 0 || !last) throw new Error(`the run with --cluster ${mode} failed (exit ${code})`);
    runs.push(JSON.parse(last) as RunJson);
  }
  const [none, kwok] = runs as [RunJson, RunJson];
  console.log("");
  console.log(
    `Side by side: the same browse without a cluster and with one (${against}: ${kwok.promoted} promoted sites, ${kwok.live} live at the end); site list times in ms, CPU in cores`,
  );
  const list = (p: PhaseJson | undefined) => {
    const f = p?.["site list"] as KindFigures | undefined;
    return f ? `${f.p50} / ${f.p95} / ${f.p99}` : "–";
  };
  const healthz = (p: PhaseJson | undefined) => (p ? String((p.healthz as KindFigures).p95) : "–");
  const loop = (p: PhaseJson | undefined) => (p ? `${round(p.loop.utilisation * 100)} % / ${round(p.loop.delayP99)} / ${round(p.loop.delayMax)}` : "–");
  const cores = (p: PhaseJson | undefined) =>
    p
      ? Object.entries(p.cores)
          .filter(([, c]) => c >= 0.01)
          .map(([name, c]) => `${name} ${c}`)
          .join(", ") + ` (machine ${p.machineBusyCores})`
      : "–";
  const rows: Record<string, Record<string, string>> = {};
  const quietOf = (run: RunJson, live: boolean) => run.quiet.find((q) => live !== q.name.includes("in progress"));
  for (const [label, live] of [
    ["no requests, rollouts in progress", false],
    ["no requests, steady", true],
  ] as const) {
    const show = (q: QuietJson | undefined) =>
      q
        ? `${q.dashboardCores} cores, ${q.statementsPerSecond} statements/s, loop busy ${round(q.loop.utilisation * 100)} %, late p99 ${round(q.loop.delayP99)} ms`
        : "–";
    rows[`${label}: dashboard`] = { none: show(quietOf(none, live)), [against]: show(quietOf(kwok, live)) };
  }
  const names = [...new Set([...kwok.browse, ...none.browse].map((p) => p.name))];
  for (const name of names) {
    const n = none.browse.find((p) => p.name === name);
    const k = kwok.browse.find((p) => p.name === name);
    rows[`${name}: site list p50 / p95 / p99`] = { none: list(n), [against]: list(k) };
    rows[`${name}: healthz p95`] = { none: healthz(n), [against]: healthz(k) };
    rows[`${name}: event loop busy / delay p99 / max (ms)`] = { none: loop(n), [against]: loop(k) };
    rows[`${name}: dashboard CPU per round (ms)`] = { none: n ? String(n.cpuMsPerRound) : "–", [against]: k ? String(k.cpuMsPerRound) : "–" };
    rows[`${name}: cores by process`] = { none: cores(n), [against]: cores(k) };
  }
  rows["one client: site list CPU per render (ms)"] = {
    none: String(none.oneClient["site list"]?.cpuMs),
    [against]: String(kwok.oneClient["site list"]?.cpuMs),
  };
  rows["one client: site list p50 / p95"] = {
    none: `${none.oneClient["site list"]?.p50} / ${none.oneClient["site list"]?.p95}`,
    [against]: `${kwok.oneClient["site list"]?.p50} / ${kwok.oneClient["site list"]?.p95}`,
  };
  console.table(rows);
  console.log(JSON.stringify({ both: { none, [against]: kwok } }));
}

(values.cluster === "both" ? both() : main()).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
