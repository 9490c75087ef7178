// How the dashboard finds its cluster: the file named by KUBECONFIG, else the
// pod's service account when running in a cluster, else none. Without a
// cluster the dashboard still runs (sign-up, uploads, deploy history); it
// only cannot take sites live, and says so. `~/.kube/config` is deliberately
// not consulted: a developer's default context may point at a real cluster.
import { existsSync } from "node:fs";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { componentLogger } from "@/lib/log";
import { pooledKubeConfig } from "../kube/connection";
import { ClusterNotConfiguredError } from "./errors";

const log = componentLogger("k8s-dashboard");

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export type ClusterConnection =
  | {
      configured: true;
      kc: KubeConfig;
      source: "kubeconfig" | "in-cluster";
      /** API server URL, for logs and the admin view. */
      server: string;
    }
  | {
      configured: false;
      /** Why there is no cluster, in words for an operator of the dashboard. */
      reason: string;
      /** True when something was configured but is unusable (as opposed to simply unset). */
      misconfigured: boolean;
    };

export interface LoadOptions {
  /** Prefix of the service-account paths; tests point it at a fake root. */
  inClusterRoot?: string;
}

function describeLoadError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function connected(kc: KubeConfig, source: "kubeconfig" | "in-cluster", where: string): ClusterConnection {
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    return { configured: false, misconfigured: true, reason: `${where}: the current context names no cluster with a server URL` };
  }
  // One connection pool for all of the dashboard's API requests; without it
  // every request pays a TLS handshake (lib/kube/connection.ts).
  return { configured: true, kc: pooledKubeConfig(kc).kc, source, server: cluster.server };
}

/** Reads the environment and files; never throws. */
export function loadClusterConnection(env: Record<string, string | undefined> = process.env, opts: LoadOptions = {}): ClusterConnection {
  const kubeconfig = env.KUBECONFIG?.trim();
  if (kubeconfig) {
    if (kubeconfig.includes(path.delimiter)) {
      return {
        configured: false,
        misconfigured: true,
        reason: `KUBECONFIG lists several files (${kubeconfig}); the dashboard needs exactly one`,
      };
    }
    if (!existsSync(kubeconfig)) {
      return { configured: false, misconfigured: true, reason: `KUBECONFIG names ${kubeconfig}, which does not exist` };
    }
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(kubeconfig);
    } catch (err) {
      return { configured: false, misconfigured: true, reason: `KUBECONFIG ${kubeconfig} cannot be read: ${describeLoadError(err)}` };
    }
    return connected(kc, "kubeconfig", `KUBECONFIG ${kubeconfig}`);
  }

  const root = opts.inClusterRoot ?? "";
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) {
    const tokenFile = `${root}${SERVICE_ACCOUNT_DIR}/token`;
    if (!existsSync(tokenFile)) {
      return {
        configured: false,
        misconfigured: true,
        reason: `running in a cluster (KUBERNETES_SERVICE_HOST is set) but there is no service account token at ${tokenFile}; is automountServiceAccountToken off?`,
      };
    }
    const kc = new KubeConfig();
    // loadFromCluster reads the host and port from process.env; build the
    // same config from the environment we were given so tests can pass one.
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    try {
      process.env.KUBERNETES_SERVICE_HOST = env.KUBERNETES_SERVICE_HOST;
      process.env.KUBERNETES_SERVICE_PORT = env.KUBERNETES_SERVICE_PORT;
      kc.loadFromCluster(root);
    } catch (err) {
      return { configured: false, misconfigured: true, reason: `in-cluster configuration failed: ${describeLoadError(err)}` };
    } finally {
      restoreEnv("KUBERNETES_SERVICE_HOST", saved.host);
      restoreEnv("KUBERNETES_SERVICE_PORT", saved.port);
    }
    return connected(kc, "in-cluster", "in-cluster service account");
  }

  return {
    configured: false,
    misconfigured: false,
    reason: "neither KUBECONFIG nor an in-cluster service account is available; sites cannot go live",
  };
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

let cached: ClusterConnection | undefined;

/** The process's connection, loaded once; logs what it found. */
export function clusterConnection(): ClusterConnection {
  if (!cached) {
    cached = loadClusterConnection();
    if (cached.configured) log.info({ source: cached.source, server: cached.server }, "Kubernetes cluster configured");
    else if (cached.misconfigured) log.error({ reason: cached.reason }, "Kubernetes cluster configuration unusable; sites cannot go live");
    else log.warn({ reason: cached.reason }, "no Kubernetes cluster configured; sites cannot go live");
  }
  return cached;
}

export function clusterConfigured(): boolean {
  return clusterConnection().configured;
}

/** The KubeConfig to pass to sites/restore/status-hub; throws when there is none. */
export function dashboardKubeConfig(): KubeConfig {
  const conn = clusterConnection();
  if (!conn.configured) throw new ClusterNotConfiguredError(conn.reason);
  return conn.kc;
}
