/**
 * The Kubernetes half of a local run: a cluster from local-cluster/ (a real node
 * when this machine allows one, a simulated node otherwise), the StaticSite
 * CRD, and the operator. Returns what the dashboard needs to drive it.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { chown, mkdir } from "node:fs/promises";
import { buildPoolImage, installCrds } from "@/local-cluster/testing";
import { logger } from "@/lib/log";
import { runDetached, type ProcessGroup } from "@/scripts/dev/processes";
import { operatorCommand } from "@/scripts/operator-build";

const run = promisify(execFile);
const log = logger.child({ component: "stack" });
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const clusterScript = path.join(root, "local-cluster/pagoda-cluster");

/** The real node's bridge address: pods reach the host (and the artifact endpoint) here. */
export const NODE_BRIDGE_IP = "10.244.0.1";

export type NodeKind = "node" | "kwok";

/** Why a real node cannot run here, or null when it can. */
export function realNodeUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "a real node needs root (containerd, network bridge, cgroups)";
  const needed = ["/usr/bin/containerd", "/usr/sbin/runc", "/usr/lib/cni/bridge", "/bin/busybox"];
  const missing = needed.filter((file) => !existsSync(file) && !existsSync(file.replace("/usr/sbin/", "/usr/bin/")));
  return missing.length > 0 ? `missing ${missing.join(", ")}` : null;
}

export interface ClusterInfo {
  kind: NodeKind;
  kubeconfigPath: string;
  /** Where site Ingresses answer on this machine (real node only). */
  ingressPort: number | null;
  /** The shared serving pool (real node only): its image and the node directory of its agents' store. */
  pool: { image: string; storeDir: string } | null;
}

/** `pagoda-cluster up` on the developer's persistent cluster in .data/cluster; falls back to kwok. */
export async function upLocalCluster(preferred: NodeKind | "auto"): Promise<ClusterInfo> {
  const reason = realNodeUnavailable();
  let kind: NodeKind = preferred === "auto" ? (reason ? "kwok" : "node") : preferred;
  if (preferred === "node" && reason) throw new Error(`cannot start a real node: ${reason}`);
  try {
    await run("bash", [clusterScript, "up", `--${kind}`], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    if (kind !== "node" || preferred === "node") throw error;
    log.warn({ err: error }, "the real node did not start; falling back to a simulated node");
    await run("bash", [clusterScript, "down"]).catch(() => undefined);
    kind = "kwok";
    await run("bash", [clusterScript, "up", "--kwok"], { maxBuffer: 16 * 1024 * 1024 });
  }
  const { stdout } = await run("bash", [clusterScript, "kubeconfig"]);
  const kubeconfigPath = stdout.trim();
  await installCrds(loadKubeConfig(kubeconfigPath), path.join(root, "deploy/crds"));
  return {
    kind,
    kubeconfigPath,
    ingressPort: kind === "node" ? Number(process.env.PAGODA_INGRESS_PORT ?? 18080) : null,
    // A simulated node runs no containers, so the pool would never serve there.
    pool: kind === "node" ? await localPool() : null,
  };
}

/** The pool's image, built (when its sources changed) and imported into the node, and a store directory the agents (uid 101) can write. */
async function localPool(): Promise<{ image: string; storeDir: string }> {
  const image = await buildPoolImage();
  const storeDir = path.join(root, ".data", "pool-store");
  await mkdir(storeDir, { recursive: true });
  await chown(storeDir, 101, 101);
  return { image, storeDir };
}

export async function downLocalCluster(): Promise<void> {
  await runDetached("bash", [clusterScript, "down"]);
}

export function loadKubeConfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

/**
 * Environment for the operator on a local cluster: the locally built images.
 * No ingress class: the local cluster's Traefik is its default class.
 */
export function operatorEnv(kubeconfigPath: string, port: number, site: SiteAddressEnv, pool: ClusterInfo["pool"] = null): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...site,
    ...(pool ? { PAGODA_OPERATOR_POOL_IMAGE: pool.image, PAGODA_OPERATOR_POOL_STORE_HOST_PATH: pool.storeDir } : {}),
    KUBECONFIG: kubeconfigPath,
    PAGODA_SERVICE: "pagoda-operator",
    PAGODA_OPERATOR_NGINX_IMAGE: "pagoda.local/nginx:1",
    PAGODA_OPERATOR_FETCH_IMAGE: "pagoda.local/busybox:1",
    PAGODA_OPERATOR_IMAGE_PULL_POLICY: "IfNotPresent",
    PAGODA_OPERATOR_PORT: String(port),
    PAGODA_OPERATOR_LEASE_NAMESPACE: "default",
  };
}

/** Builds the operator bundle if a source changed, then runs it in the group. */
export async function startOperator(group: ProcessGroup, env: NodeJS.ProcessEnv): Promise<void> {
  const { command, args } = await operatorCommand((message) => log.info(message));
  group.start("operator", command, args, env);
}

export interface SiteAddressEnv {
  PAGODA_SITE_SCHEME: string;
  PAGODA_SITE_PORT?: string;
}

/**
 * How site URLs are written on the local cluster: plain HTTP on the ingress's
 * port. The dashboard and the operator both get it, so the address the
 * dashboard shows and status.url agree.
 */
export function siteAddressEnv(ingressPort: number | null): SiteAddressEnv {
  return ingressPort ? { PAGODA_SITE_SCHEME: "http", PAGODA_SITE_PORT: String(ingressPort) } : { PAGODA_SITE_SCHEME: "http" };
}

/** Dashboard settings that make site URLs and artifact fetches work on the local cluster. */
export function dashboardClusterEnv(cluster: ClusterInfo, dashboardPort: number): Record<string, string> {
  const env: Record<string, string> = { KUBECONFIG: cluster.kubeconfigPath, ...siteAddressEnv(cluster.ingressPort) };
  // Pods fetch artifacts from the host through the node's bridge.
  env.PAGODA_ARTIFACT_BASE_URL = `http://${NODE_BRIDGE_IP}:${dashboardPort}`;
  // The pool runs here (real node only), so new sites go to it, as in an install with the serving-pool component.
  if (cluster.pool) env.PAGODA_SITE_SERVING = "shared";
  return env;
}
