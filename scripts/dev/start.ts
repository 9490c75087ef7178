/**
 * `npm start`: runs Pagoda on this machine with no configuration.
 * Starts (or reuses) a local Postgres when DATABASE_URL is unset, applies
 * migrations, builds the dashboard when its sources changed, serves it, and
 * stops everything it started on Ctrl-C.
 */
import path from "node:path";
import { ConfigError, parseConfig } from "@/lib/config";
import { logger } from "@/lib/log";
import { dashboardNodeOptions } from "@/lib/node-options";
import { deployMigrations } from "@/scripts/db/migrate";
import { DEFAULT_DATA_DIR, DEFAULT_PORT, ensurePostgres } from "@/scripts/postgres";
import { buildIfStale } from "@/scripts/dev/build";
import { loadLocalSecrets } from "@/scripts/dev/secrets";
import { ProcessGroup, waitForHttp } from "@/scripts/dev/processes";
import { startLocalMail } from "@/scripts/mail/local";
import {
  dashboardClusterEnv,
  downLocalCluster,
  operatorEnv,
  realNodeUnavailable,
  siteAddressEnv,
  startOperator,
  upLocalCluster,
  type ClusterInfo,
} from "@/scripts/dev/stack";

const log = logger.child({ component: "start" });
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
process.chdir(root);
// What the person running `npm start` set, before this script adds defaults.
const callerEnv: Readonly<NodeJS.ProcessEnv> = { ...process.env };

async function main(): Promise<void> {
  const group = new ProcessGroup();
  const dataDir = process.env.PAGODA_DATA_DIR ?? ".data";
  const port = Number(process.env.PORT ?? 3000);
  process.env.NEXTAUTH_URL ??= `http://localhost:${port}`;
  process.env.PAGODA_SITE_SCHEME ??= "http";
  await loadLocalSecrets(dataDir);

  if (!process.env.DATABASE_URL) {
    const postgres = await ensurePostgres({
      dataDir: path.join(dataDir, "postgres"),
      port: Number(process.env.PAGODA_POSTGRES_PORT ?? DEFAULT_PORT),
      portSetting: "PAGODA_POSTGRES_PORT",
    });
    process.env.DATABASE_URL = postgres.url;
    // A server this run found already running belongs to whoever started it.
    if (!postgres.reused) group.onShutdown(() => postgres.stop());
    log.info({ dataDir: DEFAULT_DATA_DIR }, "local Postgres is running");
  }

  try {
    parseConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return group.shutdown(1);
    }
    throw error;
  }

  await deployMigrations({ databaseUrl: process.env.DATABASE_URL });

  // Mail: the caller's SMTP server, or a local Mailpit whose inbox is printed below.
  const mailLine = process.env.PAGODA_SMTP_URL ? `Mail: sent through ${redactedSmtp(process.env.PAGODA_SMTP_URL)}` : await startLocalMail(group, dataDir);

  // The cluster: the caller's (KUBECONFIG), none (PAGODA_CLUSTER=off), or the local one.
  let cluster: ClusterInfo | null = null;
  if (!process.env.KUBECONFIG && process.env.PAGODA_CLUSTER !== "off") {
    const why = realNodeUnavailable();
    console.log(
      why
        ? `\n  Starting the local cluster with a SIMULATED node (${why}).\n  Sites will report Live but nothing serves them.\n`
        : "\n  Starting the local cluster with a real node…\n",
    );
    cluster = await upLocalCluster("auto");
    group.onShutdown(() => downLocalCluster());
    const siteEnv = { ...siteAddressEnv(cluster.ingressPort), ...callerSet(["PAGODA_SITE_SCHEME", "PAGODA_SITE_PORT"]) };
    await startOperator(group, operatorEnv(cluster.kubeconfigPath, Number(process.env.PAGODA_OPERATOR_PORT ?? 9464), siteEnv, cluster.pool));
    Object.assign(process.env, {
      ...dashboardClusterEnv(cluster, port),
      ...callerSet(["PAGODA_SITE_SCHEME", "PAGODA_SITE_PORT", "PAGODA_ARTIFACT_BASE_URL", "PAGODA_SITE_SERVING"]),
    });
  }

  buildIfStale((message) => log.info(message));

  // With a real node, pods fetch artifacts through the node's bridge, so the
  // dashboard must listen there too, not only on loopback.
  const host = cluster?.kind === "node" ? "0.0.0.0" : "127.0.0.1";
  group.start("dashboard", "node_modules/.bin/next", ["start", "-p", String(port), "-H", host], {
    ...process.env,
    NODE_ENV: "production",
    NODE_OPTIONS: dashboardNodeOptions(callerEnv.NODE_OPTIONS),
  });
  const url = `http://localhost:${port}`;
  await waitForHttp(url, 60_000);
  const clusterLine = !cluster
    ? process.env.KUBECONFIG
      ? `Cluster: ${process.env.KUBECONFIG}`
      : "Cluster: none (PAGODA_CLUSTER=off); deploys are stored but cannot go live."
    : cluster.kind === "node"
      ? `Cluster: local, real node, new sites served ${process.env.PAGODA_SITE_SERVING === "shared" ? "by the shared pool" : "by pods of their own"}; sites answer at http://<site>-<tenant>.${process.env.PAGODA_BASE_DOMAIN ?? "pagoda.localhost"}:${cluster.ingressPort}/`
      : "Cluster: local, SIMULATED node (kwok); rollouts are reported but nothing serves the sites.";
  console.log(`\n  Pagoda is running: ${url}\n  ${clusterLine}\n  ${mailLine}\n  Sign up there to create your first site. Press Ctrl-C to stop.\n`);
}

main().catch((error: unknown) => {
  log.fatal({ err: error }, "start failed");
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

/** The SMTP URL without its password, for the start-up line. */
function redactedSmtp(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = "***";
  return url.toString();
}

/** The subset of env that the caller set explicitly; those win over local defaults. */
function callerSet(names: string[]): Record<string, string> {
  return Object.fromEntries(names.filter((name) => callerEnv[name] !== undefined).map((name) => [name, callerEnv[name]!]));
}
