/**
 * Runs the Playwright suite against real parts: a throw-away Postgres,
 * migrated, with fresh secrets; a throw-away Kubernetes cluster with a real
 * node and ingress, the CRD and the operator. The dashboard itself is
 * started by playwright.config.ts. Arguments go to `playwright test`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { deployMigrations } from "@/scripts/db/migrate";
import { ensurePostgres, findFreePort } from "@/scripts/postgres";
import { NODE_BRIDGE_IP, operatorEnv, realNodeUnavailable, siteAddressEnv } from "@/scripts/dev/stack";
import { operatorCommand } from "@/scripts/operator-build";

const DASHBOARD_PORT = Number(process.env.E2E_PORT ?? 3100);

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

async function main(): Promise<number> {
  const unavailable = realNodeUnavailable();
  if (unavailable) {
    // The browser tests prove sites really serve; without a node they cannot.
    throw new Error(`the browser tests need a real cluster node: ${unavailable}`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-e2e-"));
  await chmod(dir, 0o755);
  const cleanups: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  try {
    const postgres = await ensurePostgres({ dataDir: path.join(dir, "pg"), port: await findFreePort(), ephemeral: true });
    cleanups.push(() => postgres.stop());
    await deployMigrations({ databaseUrl: postgres.url });

    const cluster: TestCluster = await startTestCluster({ node: "node" });
    cleanups.push(() => cluster.stop());
    const siteEnv = siteAddressEnv(Number(new URL(cluster.ingressUrl!).port));
    const { command, args } = await operatorCommand((message) => console.log(message));
    const operator = spawn(command, args, {
      env: { ...operatorEnv(cluster.kubeconfigPath, await findFreePort(), siteEnv), LOG_LEVEL: "warn" },
      stdio: ["ignore", "inherit", "inherit"],
    });
    cleanups.push(() => stopChild(operator));

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: postgres.url,
      NEXTAUTH_SECRET: randomBytes(32).toString("base64url"),
      PAGODA_ARTIFACT_SECRET: randomBytes(32).toString("base64url"),
      PAGODA_DATA_DIR: path.join(dir, "data"),
      KUBECONFIG: cluster.kubeconfigPath,
      ...siteEnv,
      // Pods fetch artifacts from the dashboard through the node's bridge.
      PAGODA_ARTIFACT_BASE_URL: `http://${NODE_BRIDGE_IP}:${DASHBOARD_PORT}`,
      E2E_HOST: "0.0.0.0",
      E2E_PORT: String(DASHBOARD_PORT),
      E2E_INGRESS_URL: cluster.ingressUrl!,
      // Every test signs up from 127.0.0.1; the per-IP sign-up limit would
      // otherwise be the first thing the suite measures. Per-email limits stay.
      PAGODA_SIGNUPS_PER_IP: "1000",
      PAGODA_SIGNIN_ATTEMPTS_PER_IP: "1000",
    };
    const child = spawn("node_modules/.bin/playwright", ["test", ...process.argv.slice(2)], { env, stdio: "inherit" });
    return await new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => console.error("e2e clean-up failed:", error));
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
