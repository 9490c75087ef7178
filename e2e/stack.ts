/**
 * The real parts the browser tests run against, in a process of their own
 * that e2e/global-setup.ts starts: a throw-away Postgres, migrated, with
 * fresh secrets; a throw-away Mailpit for the mail it sends; a throw-away Kubernetes cluster with a real node and
 * ingress, the CRD and the operator; and the built dashboard. Once the
 * dashboard answers, it sends the environment the tests need over the IPC
 * channel; when that channel closes (the tests are over, or Playwright died)
 * it stops everything it started.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startTestCluster } from "@/local-cluster/testing";
import { dashboardNodeOptions } from "@/lib/node-options";
import { buildIfStale } from "@/scripts/dev/build";
import { waitForHttp } from "@/scripts/dev/processes";
import { NODE_BRIDGE_IP, operatorEnv, realNodeUnavailable, siteAddressEnv } from "@/scripts/dev/stack";
import { deployMigrations } from "@/scripts/db/migrate";
import { operatorCommand } from "@/scripts/operator-build";
import { ensurePostgres, findFreePort } from "@/scripts/postgres";
import { startMailpit } from "@/scripts/mail/mailpit";
import { startOidcProvider } from "@/tests/support/oidc-provider";
import { startDnsServer } from "@/local-cluster/dns-server";
import { dashboardPort, dashboardUrl } from "./dashboard-url";

export type StackMessage = { ready: Record<string, string> } | { failed: string };

const cleanups: (() => Promise<void>)[] = [];
let stopping: Promise<void> | undefined;

function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => console.error("e2e clean-up failed:", error));
    }
  })();
  return stopping;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Resolves once the dashboard answers; rejects as soon as it exits instead. */
function dashboardReady(child: ChildProcess, url: string): Promise<void> {
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, signal) => reject(new Error(`the dashboard exited before it answered (${signal ?? `exit ${code}`}); its log is above`))),
  );
  return Promise.race([waitForHttp(url, 60_000), exited]);
}

async function start(): Promise<Record<string, string>> {
  const unavailable = realNodeUnavailable();
  if (unavailable) {
    // The browser tests prove sites really serve; without a node they cannot.
    throw new Error(`the browser tests need a real cluster node: ${unavailable}`);
  }
  // First: a build takes minutes and needs nothing below.
  buildIfStale((message) => console.log(message));

  const dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-e2e-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  const postgres = await ensurePostgres({ dataDir: path.join(dir, "pg"), port: await findFreePort(), ephemeral: true });
  cleanups.push(() => postgres.stop());
  await deployMigrations({ databaseUrl: postgres.url });

  const mailpit = await startMailpit();
  cleanups.push(() => mailpit.stop());
  // Single sign-on's provider (e2e/oidc.spec.ts): a login that is an address is an account with it, verified unless it starts with "unverified-".
  const oidc = await startOidcProvider({
    redirectUri: `${dashboardUrl}/api/auth/callback/oidc`,
    directory: (login) => (/^[^@\s]+@[^@\s]+$/.test(login) ? { sub: login, email: login, email_verified: !login.startsWith("unverified-") } : undefined),
  });
  cleanups.push(() => oidc.stop());

  // Custom domains (e2e/domains.spec.ts) are verified against this real DNS server; the tests change its records.
  const dns = await startDnsServer({ zones: ["customer.test"] });
  cleanups.push(() => dns.stop());

  const tierStarted = Date.now();
  // With the TLS tier (Pebble, cert-manager, HTTPS), resolving names through the same DNS server.
  // And the shared serving pool's image (e2e/shared-serving.spec.ts).
  const cluster = await startTestCluster({ node: "node", tls: true, dns, poolImage: true });
  cleanups.push(() => cluster.stop());
  const pebbleRoot = path.join(dir, "pebble-root.pem");
  await writeFile(pebbleRoot, cluster.tls!.pebbleRootPem);
  console.log(`e2e: cluster with a real node and the TLS tier up in ${((Date.now() - tierStarted) / 1000).toFixed(1)} s`);
  const siteEnv = siteAddressEnv(Number(new URL(cluster.ingressUrl!).port));
  // The pool agents keep their verified tarballs on the node, as uid 101.
  const poolStore = path.join(dir, "pool-store");
  await mkdir(poolStore);
  await chown(poolStore, 101, 101);
  const { command, args } = await operatorCommand((message) => console.log(message));
  const operator = spawn(command, args, {
    env: {
      ...operatorEnv(cluster.kubeconfigPath, await findFreePort(), siteEnv, { image: cluster.poolImage!, storeDir: poolStore }),
      // Certificates for custom domains only: without PAGODA_OPERATOR_TLS built-in hosts stay plain HTTP, as the other tests expect.
      PAGODA_OPERATOR_CLUSTER_ISSUER: cluster.tls!.clusterIssuer,
      // Defined by the TLS tier's Traefik file provider (local-cluster/lib/node.sh).
      PAGODA_OPERATOR_HTTPS_REDIRECT_MIDDLEWARE: "pagoda-https-redirect@file",
      PAGODA_DASHBOARD_HOST: new URL(dashboardUrl).hostname,
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  cleanups.push(() => stopChild(operator));

  const testEnv: Record<string, string> = {
    DATABASE_URL: postgres.url,
    NEXTAUTH_SECRET: randomBytes(32).toString("base64url"),
    PAGODA_ARTIFACT_SECRET: randomBytes(32).toString("base64url"),
    PAGODA_DATA_DIR: path.join(dir, "data"),
    KUBECONFIG: cluster.kubeconfigPath,
    ...siteEnv,
    // Pods fetch artifacts from the dashboard through the node's bridge.
    PAGODA_ARTIFACT_BASE_URL: `http://${NODE_BRIDGE_IP}:${dashboardPort}`,
    E2E_INGRESS_URL: cluster.ingressUrl!,
    // The TLS tier: Traefik's HTTPS entry point, the PEM file of the root Pebble signs with, the ClusterIssuer.
    E2E_HTTPS_URL: cluster.tls!.httpsUrl,
    E2E_PEBBLE_ROOT: pebbleRoot,
    E2E_CLUSTER_ISSUER: cluster.tls!.clusterIssuer,
    // Every email the dashboard sends goes to this run's Mailpit; the tests read it through its API.
    PAGODA_SMTP_URL: mailpit.smtpUrl,
    E2E_MAILPIT_URL: mailpit.webUrl,
    PAGODA_OIDC_ISSUER: oidc.issuer,
    PAGODA_OIDC_CLIENT_ID: oidc.clientId,
    PAGODA_OIDC_CLIENT_SECRET: oidc.clientSecret,
    PAGODA_OIDC_NAME: "Test ID",
    // The workspace is made by the test; until then the rule is skipped.
    PAGODA_OIDC_DOMAIN_RULES: "sso-e2e.example=sso-e2e:member",
    // Every test signs up from 127.0.0.1; the per-IP sign-up limit would
    // otherwise be the first thing the suite measures. Per-email limits stay.
    PAGODA_SIGNUPS_PER_IP: "1000",
    PAGODA_SIGNIN_ATTEMPTS_PER_IP: "1000",
    PAGODA_PASSWORD_RESETS_PER_IP: "1000",
    PAGODA_DNS_RESOLVER: dns.address,
    PAGODA_INGRESS_HOSTNAME: "ingress.pagoda-e2e.test",
    PAGODA_INGRESS_ADDRESSES: "127.0.0.1",
    // A domain's first checks come a second apart, and never more than five.
    PAGODA_DOMAIN_RETRY_SECONDS: "1",
    PAGODA_DOMAIN_RECHECK_SECONDS: "5",
    E2E_DNS_ADDRESS: dns.address,
    E2E_DNS_DIR: dns.dir,
    E2E_DNS_ZONES: dns.zones.join(","),
  };

  // On every address, not only loopback: pods reach it through the node's bridge.
  const dashboard = spawn("node_modules/.bin/next", ["start", "-p", String(dashboardPort), "-H", "0.0.0.0"], {
    env: {
      ...process.env,
      ...testEnv,
      NODE_ENV: "production",
      NODE_OPTIONS: dashboardNodeOptions(process.env.NODE_OPTIONS),
      NEXTAUTH_URL: dashboardUrl,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  cleanups.push(() => stopChild(dashboard));
  await dashboardReady(dashboard, `${dashboardUrl}/signin`);
  return testEnv;
}

function send(message: StackMessage): void {
  process.send!(message);
}

if (!process.send) throw new Error("e2e/stack.ts is started by e2e/global-setup.ts (npm run test:e2e), with an IPC channel");
// A Ctrl-C reaches this process too (same process group): stop, and let the channel's close do nothing more.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stopAll().then(() => process.exit(1)));
process.once("disconnect", () => void stopAll().then(() => process.exit(0)));
start().then(
  (env) => send({ ready: env }),
  async (error: unknown) => {
    console.error(error);
    await stopAll();
    send({ failed: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  },
);
