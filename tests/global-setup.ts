/**
 * Global setup of the integration project: real servers, started once per
 * run and torn down afterwards. Each server has its own start function that
 * registers its own clean-up, so adding one is a matter of another call.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { generateIfStale } from "@/scripts/db/generate";
import { deployMigrations } from "@/scripts/db/migrate";
import { ensurePostgres, findFreePort } from "@/scripts/postgres";
import { startTestCluster } from "@/local-cluster/testing";
import { startDnsServer } from "@/local-cluster/dns-server";
import { startMailpit } from "@/scripts/mail/mailpit";

type Teardown = () => Promise<void>;

/** Runs clean-ups newest first; all of them run, the first failure is rethrown. */
async function runTeardowns(teardowns: Teardown[]): Promise<void> {
  const failures: unknown[] = [];
  for (const teardown of teardowns.splice(0).reverse()) {
    try {
      await teardown();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, "several integration teardowns failed");
}

/** A throw-away Postgres in a fresh temporary directory, migrated; returns its URL. */
async function startDatabase(teardowns: Teardown[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-test-pg-"));
  teardowns.push(() => rm(dir, { recursive: true, force: true }));
  // mkdtemp makes the directory private to us; as root the server runs as the
  // postgres user, which must be able to pass through it to its data dir.
  await chmod(dir, 0o755);
  const server = await ensurePostgres({ dataDir: path.join(dir, "data"), port: await findFreePort(), ephemeral: true });
  teardowns.push(() => server.stop());
  await deployMigrations({ databaseUrl: server.url });
  return server.url;
}

/**
 * One Kubernetes control plane (with the project's CRDs) for the whole run.
 * Files that only need an API server share it and keep to namespaces of
 * their own; files that restart or break the API server start their own.
 */
async function startSharedCluster(teardowns: Teardown[], project: TestProject): Promise<string> {
  const cluster = await startTestCluster();
  teardowns.push(() => cluster.stop());
  // Domain verification asks a real DNS server; this one serves the zone `test`.
  const dns = await startDnsServer({ zones: ["test"] });
  teardowns.push(() => dns.stop());
  project.provide("dnsServer", { address: dns.address, dir: dns.dir, zones: dns.zones });
  return cluster.kubeconfigPath;
}

export default async function setup(project: TestProject): Promise<Teardown> {
  const teardowns: Teardown[] = [];
  try {
    // Tests import the generated client, which is not committed; this keeps
    // it in step with the schema the database is migrated to.
    await generateIfStale();
    const databaseUrl = await startDatabase(teardowns);
    process.env.DATABASE_URL = databaseUrl;
    project.provide("databaseUrl", databaseUrl);
    project.provide("kubeconfigPath", await startSharedCluster(teardowns, project));
    const mailpit = await startMailpit();
    teardowns.push(() => mailpit.stop());
    project.provide("smtpUrl", mailpit.smtpUrl);
    project.provide("mailpitUrl", mailpit.webUrl);
  } catch (error) {
    await runTeardowns(teardowns);
    throw error;
  }
  return () => runTeardowns(teardowns);
}
