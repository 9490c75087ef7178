// The image's run-time tree, assembled without Docker the way the Dockerfile
// does it: the installed node_modules pruned by deploy/image/prune-node-modules.mjs
// with the Dockerfile's own arguments, plus the files its COPY --from=build
// lines name (all but the Next.js build output, which needs a full build).
// The entrypoint's "migrate" and "operator" roles then run from that tree
// against a real Postgres and a real API server, so a run-time import of a
// package the prune drops fails here rather than in a cluster.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CoordinationV1Api, KubeConfig } from "@kubernetes/client-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sharedCluster } from "@/tests/support/cluster";
import { createDatabase, dropDatabase } from "@/scripts/postgres";
import { findFreePort } from "@/scripts/lib/free-port";
import { ensureOperatorBuild } from "@/scripts/operator-build";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const entrypoint = path.join(repoRoot, "deploy/image/entrypoint.sh");

/** The prune script's arguments, read from the Dockerfile's RUN line. */
async function dockerfilePruneArgs(): Promise<string[]> {
  const dockerfile = await readFile(path.join(repoRoot, "Dockerfile"), "utf8");
  const joined = dockerfile.replace(/\\\n/g, " ");
  const line = joined.split("\n").find((l) => l.includes("prune-node-modules.mjs") && l.trim().startsWith("RUN"));
  if (!line) throw new Error("the Dockerfile has no RUN line with prune-node-modules.mjs");
  const after = line.slice(line.indexOf("prune-node-modules.mjs") + "prune-node-modules.mjs".length);
  return after
    .trim()
    .split(/\s+/)
    .map((arg) => arg.replace(/^'(.*)'$/, "$1"));
}

/** [source under /app, destination under /app] of every COPY --from=build that is not Next's output. */
async function dockerfileBuildCopies(): Promise<Array<[string, string]>> {
  const dockerfile = await readFile(path.join(repoRoot, "Dockerfile"), "utf8");
  const copies: Array<[string, string]> = [];
  for (const line of dockerfile.split("\n")) {
    const m = /^COPY --from=build (.+)$/.exec(line.trim());
    if (!m) continue;
    const parts = m[1]!.trim().split(/\s+/);
    const dest = parts.pop()!;
    for (const src of parts) {
      if (!src.startsWith("/app/")) throw new Error(`unexpected COPY source ${src}`);
      if (src.startsWith("/app/.next")) continue;
      const rel = src.slice("/app/".length);
      copies.push([rel, dest.endsWith("/") || dest === "./" ? rel : dest.replace(/^\.\//, "")]);
    }
  }
  return copies;
}

/**
 * The end of a process's output, enough to see why it failed. Stack frame
 * lines are dropped: vitest would treat them as frames of the assertion and
 * try to read source maps of files that are not its own.
 */
function tail(out: string): string {
  return out
    .split("\n")
    .filter((line) => !/^\s+at\s/.test(line))
    .join("\n")
    .slice(-3000);
}

function runRole(app: string, role: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", [entrypoint, role], { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

async function poll<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the image's run-time tree, assembled as the Dockerfile does", () => {
  let scratch: string;
  let app: string;
  // Only what the image sets, plus PATH for node and sh: nothing leaks in
  // from the test process's environment.
  let baseEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // The build stage's `npm run build:operator`, whose output the runtime stage copies.
    await ensureOperatorBuild();
    scratch = await mkdtemp(path.join(os.tmpdir(), "pagoda-image-test-"));
    app = path.join(scratch, "app");
    await mkdir(app);
    for (const f of ["package.json", "package-lock.json"]) await cp(path.join(repoRoot, f), path.join(app, f));
    // Hard links make the copy cheap; the prune only unlinks, so the
    // repository's tree is untouched. Across filesystems, copy for real.
    const linked = spawnSync("cp", ["-al", path.join(repoRoot, "node_modules"), path.join(app, "node_modules")]);
    if (linked.status !== 0) await cp(path.join(repoRoot, "node_modules"), path.join(app, "node_modules"), { recursive: true, verbatimSymlinks: true });
    const prune = spawnSync(process.execPath, [path.join(repoRoot, "deploy/image/prune-node-modules.mjs"), ...(await dockerfilePruneArgs())], {
      cwd: app,
      encoding: "utf8",
    });
    if (prune.status !== 0) throw new Error(`prune failed:\n${prune.stderr}`);
    for (const [src, dest] of await dockerfileBuildCopies()) {
      await cp(path.join(repoRoot, src), path.join(app, dest), { recursive: true });
    }
    baseEnv = { PATH: process.env.PATH, NODE_ENV: "production", TMPDIR: scratch };
  });

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("keeps the run-time packages and drops the development tools", async () => {
    const present = async (pkg: string) =>
      stat(path.join(app, "node_modules", pkg)).then(
        () => true,
        () => false,
      );
    for (const pkg of ["next", "react", "@prisma/client", "@kubernetes/client-node", "pg", "tsx", "@prisma/schema-engine-wasm"]) {
      expect(await present(pkg), pkg).toBe(true);
    }
    for (const pkg of ["typescript", "eslint", "vitest", "@playwright/test", "prisma", "tailwindcss"]) {
      expect(await present(pkg), pkg).toBe(false);
    }
  });

  it("the migrate role applies every migration to an empty database, and a second run changes nothing", async () => {
    const serverUrl = inject("databaseUrl");
    const name = `image_${randomBytes(4).toString("hex")}`;
    const url = await createDatabase(serverUrl, name);
    try {
      const first = await runRole(app, "migrate", { ...baseEnv, DATABASE_URL: url });
      expect(first.code, tail(first.out)).toBe(0);
      expect(first.out).toContain("applied:");
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: string }>("select count(*) as n from _prisma_migrations where finished_at is not null");
        expect(Number(rows[0]!.n)).toBeGreaterThan(0);
      } finally {
        await client.end();
      }
      const second = await runRole(app, "migrate", { ...baseEnv, DATABASE_URL: url });
      expect(second.code, tail(second.out)).toBe(0);
      expect(second.out).toContain("database is up to date");
    } finally {
      await dropDatabase(serverUrl, name);
    }
  });

  describe("the operator role", () => {
    // The run's shared control plane; this test only needs a Lease in it.
    const cluster = { kubeconfigPath: "" };
    let child: ChildProcess | undefined;

    beforeAll(() => {
      cluster.kubeconfigPath = sharedCluster().kubeconfigPath;
    });

    afterAll(() => {
      if (child && child.exitCode === null) child.kill("SIGKILL");
    });

    it("leads, reports ready, and on SIGTERM releases its Lease and exits 0", async () => {
      const port = await findFreePort();
      const lease = `image-test-${randomBytes(3).toString("hex")}`;
      const identity = `image-test-${randomBytes(3).toString("hex")}`;
      let out = "";
      child = spawn("sh", [entrypoint, "operator"], {
        cwd: app,
        env: {
          ...baseEnv,
          KUBECONFIG: cluster.kubeconfigPath,
          PAGODA_OPERATOR_PORT: String(port),
          PAGODA_OPERATOR_LEASE_NAME: lease,
          PAGODA_OPERATOR_LEASE_NAMESPACE: "default",
          PAGODA_OPERATOR_IDENTITY: identity,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
      const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)));

      // Allow for a slow machine.
      await poll("operator /readyz", async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), 120_000).catch(
        (err: Error) => {
          throw new Error(`${err.message}\n${tail(out)}`);
        },
      );
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain("pagoda_operator_leader 1");
      // The entrypoint execs node: the process the test started is the operator itself.
      expect(spawnSync("ps", ["-o", "args=", "-p", String(child.pid)], { encoding: "utf8" }).stdout).toContain("build/operator/main.cjs");

      const kc = new KubeConfig();
      kc.loadFromFile(cluster.kubeconfigPath);
      const coordination = kc.makeApiClient(CoordinationV1Api);
      expect((await coordination.readNamespacedLease({ name: lease, namespace: "default" })).spec?.holderIdentity).toBe(identity);

      child.kill("SIGTERM");
      expect(await exited, tail(out)).toBe(0);
      const released = await coordination.readNamespacedLease({ name: lease, namespace: "default" });
      expect(released.spec?.holderIdentity ?? "").toBe("");
    }, 180_000);
  });
});
