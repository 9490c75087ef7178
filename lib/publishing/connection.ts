// How the dashboard finds its cluster: the file named by KUBECONFIG, else the
// pod's service account when running in a cluster, else none. Without a
// cluster the dashboard still runs (sign-up, uploads, deploy history); it
// only cannot take sites live, and says so. `~/.kube/config` is deliberately
// not consulted: a developer's default context may point at a real cluster.

import "server-only";
import type { KubeConfig } from "@kubernetes/client-node";
import { componentLogger } from "@/lib/log";
import { loadKubeConfig, pooledKubeConfig } from "@/lib/kube/connection";
import { ClusterNotConfiguredError } from "./errors";

const log = componentLogger("k8s-dashboard");

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

/** Reads the environment and files; never throws. */
export function loadClusterConnection(env: Record<string, string | undefined> = process.env, opts: LoadOptions = {}): ClusterConnection {
  const loaded = loadKubeConfig({ file: env.KUBECONFIG, defaultFile: false, inCluster: true, env, ...opts });
  if (!loaded.ok) {
    const reason = loaded.misconfigured ? loaded.reason : `${loaded.reason}; sites cannot go live`;
    return { configured: false, misconfigured: loaded.misconfigured, reason };
  }
  // One connection pool for all of the dashboard's API requests; without it
  // every request pays a TLS handshake (lib/kube/connection.ts).
  const source = loaded.source === "in-cluster" ? "in-cluster" : "kubeconfig";
  return { configured: true, kc: pooledKubeConfig(loaded.kc).kc, source, server: loaded.server };
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
