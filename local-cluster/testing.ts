// Test helpers that run a real, throwaway Kubernetes control plane through
// local-cluster/pagoda-cluster. Each call gets its own state directory and free
// ports, so tests never touch a developer's running cluster (or each other).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import https from "node:https";
import {
  ApiextensionsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { startDnsServer, type DnsServer } from "./dns-server";

const clusterDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(clusterDir, "..");
const script = path.join(clusterDir, "pagoda-cluster");

export type NodeMode = "none" | "kwok" | "node";

export interface TestClusterOptions {
  /** Folder whose *.yaml / *.yml CustomResourceDefinitions are installed. Default: <repo>/deploy/crds. */
  crdDir?: string;
  /**
   * "none" (default): control plane only, Pods stay Pending.
   * "kwok": a simulated node, Pods report Running without running anything.
   * "node": a real kubelet + containerd node (needs root and the node packages).
   */
  node?: NodeMode;
  /** Seconds to wait for the cluster to become healthy. Default 180. */
  timeoutSeconds?: number;
  /**
   * With node: "node", the TLS tier: Traefik's HTTPS entry point, Pebble,
   * cert-manager and the ClusterIssuer `pagoda-pebble`, resolving names
   * through a DNS server started for the cluster.
   */
  tls?: boolean;
  /** With tls: a DNS server the caller started (and stops) instead of one of the cluster's own. */
  dns?: DnsServer;
  /**
   * With node: "node", the serving pool's image: the agent bundle is built
   * (when a source changed), packed with Node and nginx, and imported into
   * the node's containerd; its reference is in `poolImage`.
   */
  poolImage?: boolean;
}

export interface TestClusterTls {
  /** Traefik's HTTPS entry point, https://127.0.0.1:<port>. */
  httpsUrl: string;
  httpsPort: number;
  /** The DNS server Pebble and cert-manager resolve through; tests set records in it. */
  dns: DnsServer;
  clusterIssuer: string;
  /** Pebble's ACME directory. */
  acmeDirectory: string;
  /** PEM of the root that signs what Pebble issues (Pebble makes a new one each start). */
  pebbleRootPem: string;
}

export interface TestCluster {
  kubeconfigPath: string;
  /** API server URL, https://127.0.0.1:<port>. */
  server: string;
  /** The cluster's private state directory (certs, etcd data, logs). */
  stateDir: string;
  /** With node: "node", Traefik's HTTP entry point, http://127.0.0.1:<port>. */
  ingressUrl?: string;
  /** With tls: true. */
  tls?: TestClusterTls;
  /** With node: "node", the node's bridge address: the one address of this host pods reach. */
  nodeAddress?: string;
  /** With poolImage: the image reference, `pagoda.local/pool:<tag>`. */
  poolImage?: string;
  /** Stops every process of this cluster, verifies none is left, removes the state dir. */
  stop(): Promise<void>;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runScript(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return runCommand("bash", [script, ...args], env);
}

function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Ports the kernel hands out for a listen on port 0 are free at that moment. */
async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
      });
      servers.push(server);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/**
 * Pids of live processes started for the cluster in `stateDir`. The script
 * marks each of them with PAGODA_OWNER=<stateDir> in its environment.
 */
export function clusterProcesses(stateDir: string): number[] {
  const marker = `PAGODA_OWNER=${stateDir}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "latin1");
      if (environ.includes(marker)) pids.push(Number(entry));
    } catch {
      // The process exited while we looked, or is not ours to read.
    }
  }
  return pids;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(200);
  }
}

async function readCrds(crdDir: string): Promise<V1CustomResourceDefinition[]> {
  if (!existsSync(crdDir)) return [];
  const files = (await readdir(crdDir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const crds: V1CustomResourceDefinition[] = [];
  for (const file of files) {
    const docs = loadAllYaml(await readFile(path.join(crdDir, file), "utf8")) as (KubernetesObject | null)[];
    for (const doc of docs) {
      if (doc?.kind === "CustomResourceDefinition") crds.push(doc as V1CustomResourceDefinition);
    }
  }
  return crds;
}

/** Creates the CRDs and waits until the API server serves each of them. */
export async function installCrds(kc: KubeConfig, crdDir: string, timeoutMs = 60_000): Promise<string[]> {
  const crds = await readCrds(crdDir);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  for (const crd of crds) {
    await objects.patch(crd, undefined, undefined, "pagoda-test", true, PatchStrategy.ServerSideApply);
  }
  const names = crds.map((c) => c.metadata?.name).filter((n): n is string => !!n);
  for (const name of names) {
    await waitFor(`CRD ${name} to be Established`, timeoutMs, async () => {
      const crd = await ext.readCustomResourceDefinition({ name });
      const established = crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      return established ? true : undefined;
    });
  }
  return names;
}

const liveClusters = new Set<string>();
let exitHookInstalled = false;

// A test run that dies without calling stop() must not leave an API server
// behind; `exit` handlers must be synchronous, hence spawnSync.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const stateDir of liveClusters) {
      spawnSync("bash", [script, "down"], { env: { ...process.env, PAGODA_CLUSTER_DIR: stateDir }, stdio: "ignore" });
    }
  });
}

function fetchPem(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: HTTP ${res.statusCode}: ${body}`))));
      })
      .on("error", reject);
  });
}

/**
 * Builds the agent bundle (only when one of its sources changed) and the
 * pool image from it; with the state dir of a running real node in `env`,
 * imports it there. Returns the image reference. PAGODA_POOL_AGENT_BUNDLE
 * names a bundle built elsewhere to pack instead (a CI artifact, or an agent
 * with a defence taken out to see a test fail without it).
 */
export async function buildPoolImage(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const given = env.PAGODA_POOL_AGENT_BUNDLE;
  if (!given) {
    const tsx = path.join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs");
    const bundle = await runCommand(process.execPath, [tsx, path.join("scripts", "pool-agent-build.ts")], env);
    if (bundle.code !== 0) throw new Error(`building the pool agent bundle failed (exit ${bundle.code}):\n${bundle.stderr}${bundle.stdout}`);
  }
  const image = await runScript(["pool-image", ...(given ? [path.resolve(given)] : [])], env);
  const ref = image.stdout.trim().split("\n").pop() ?? "";
  if (image.code !== 0 || !ref.startsWith("pagoda.local/pool:")) {
    throw new Error(`building or importing the pool image failed (exit ${image.code}):\n${image.stderr}${image.stdout}`);
  }
  return ref;
}

async function nodeInternalIp(kc: KubeConfig): Promise<string> {
  return waitFor("the node's InternalIP", 60_000, async () => {
    const [node] = (await kc.makeApiClient(CoreV1Api).listNode()).items;
    return node?.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
  });
}

export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const mode = opts.node ?? "none";
  if (opts.tls && mode !== "node") throw new Error('startTestCluster: tls needs node: "node"');
  if (opts.poolImage && mode !== "node") throw new Error('startTestCluster: poolImage needs node: "node"');
  const ownDns = opts.tls && !opts.dns ? await startDnsServer({ zones: ["test"] }) : undefined;
  try {
    return await startCluster(opts, mode, opts.tls ? (opts.dns ?? ownDns) : undefined, ownDns);
  } catch (error) {
    await ownDns?.stop();
    throw error;
  }
}

async function startCluster(opts: TestClusterOptions, mode: NodeMode, dns: DnsServer | undefined, ownDns: DnsServer | undefined): Promise<TestCluster> {
  const stateDir = await mkdtemp(path.join(os.tmpdir(), "pagoda-cluster-"));
  const ports = await freePorts(mode === "node" ? (dns ? 15 : 11) : 5);
  const [api, etcd, etcdPeer, kcm, scheduler] = ports as [number, number, number, number, number];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PAGODA_CLUSTER_DIR: stateDir,
    PAGODA_CLUSTER_PORT: String(api),
    PAGODA_ETCD_PORT: String(etcd),
    PAGODA_ETCD_PEER_PORT: String(etcdPeer),
    PAGODA_KCM_PORT: String(kcm),
    PAGODA_SCHEDULER_PORT: String(scheduler),
    PAGODA_CLUSTER_TIMEOUT: String(opts.timeoutSeconds ?? 180),
    // Throwaway data: durability buys nothing and fsync dominates etcd latency.
    PAGODA_ETCD_UNSAFE_NO_FSYNC: "1",
  };
  let ingressUrl: string | undefined;
  if (mode === "node") {
    // The bridge and a few kubelet paths are host-wide, so only one real
    // node runs at a time; its ports at least are private to the test.
    const [kubelet, kubeletHealthz, proxyHealthz, proxyMetrics, traefikPing, ingress] = ports.slice(5) as [number, number, number, number, number, number];
    Object.assign(env, {
      PAGODA_KUBELET_PORT: String(kubelet),
      PAGODA_KUBELET_HEALTHZ_PORT: String(kubeletHealthz),
      PAGODA_PROXY_HEALTHZ_PORT: String(proxyHealthz),
      PAGODA_PROXY_METRICS_PORT: String(proxyMetrics),
      PAGODA_TRAEFIK_PING_PORT: String(traefikPing),
      PAGODA_INGRESS_PORT: String(ingress),
    });
    ingressUrl = `http://127.0.0.1:${ingress}`;
  }
  let tlsPorts: { https: number; pebble: number } | undefined;
  if (dns) {
    const [https, pebble, pebbleMgmt, certManagerMetrics] = ports.slice(11) as [number, number, number, number];
    Object.assign(env, {
      PAGODA_INGRESS_TLS_PORT: String(https),
      PAGODA_PEBBLE_PORT: String(pebble),
      PAGODA_PEBBLE_MGMT_PORT: String(pebbleMgmt),
      PAGODA_CERT_MANAGER_METRICS_PORT: String(certManagerMetrics),
      PAGODA_TLS_DNS_SERVER: dns.address,
    });
    tlsPorts = { https, pebble };
  }
  const upArgs = mode === "none" ? ["up"] : ["up", `--${mode}`, ...(dns ? ["--tls"] : [])];
  liveClusters.add(stateDir);
  installExitHook();

  const stop = async (): Promise<void> => {
    // The DNS server goes even when the cluster does not stop cleanly.
    try {
      const down = await runScript(["down"], env);
      liveClusters.delete(stateDir);
      const leftovers = clusterProcesses(stateDir);
      if (down.code !== 0 || leftovers.length > 0) {
        throw new Error(`stopping test cluster in ${stateDir} failed (exit ${down.code}, leftover pids: ${leftovers.join(", ") || "none"}):\n${down.stderr}`);
      }
      await rm(stateDir, { recursive: true, force: true });
    } finally {
      await ownDns?.stop();
    }
  };

  const up = await runScript(upArgs, env);
  if (up.code !== 0) {
    // Leave nothing half-started behind, but report the original failure.
    await runScript(["down"], env).catch(() => undefined);
    liveClusters.delete(stateDir);
    throw new Error(`starting test cluster failed (exit ${up.code}); state kept in ${stateDir}:\n${up.stderr}`);
  }
  const kubeconfigPath = path.join(stateDir, "kubeconfig");
  let tls: TestClusterTls | undefined;
  let nodeAddress: string | undefined;
  let poolImage: string | undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    await installCrds(kc, opts.crdDir ?? path.join(repoRoot, "deploy", "crds"));
    if (mode === "node") nodeAddress = await nodeInternalIp(kc);
    if (opts.poolImage) poolImage = await buildPoolImage(env);
    if (dns && tlsPorts) {
      const ca = await readFile(path.join(stateDir, "pki", "ca.crt"), "utf8");
      const pebbleRootPem = await fetchPem(`https://127.0.0.1:${env.PAGODA_PEBBLE_MGMT_PORT}/roots/0`, ca);
      tls = {
        httpsUrl: `https://127.0.0.1:${tlsPorts.https}`,
        httpsPort: tlsPorts.https,
        dns,
        clusterIssuer: "pagoda-pebble",
        acmeDirectory: `https://127.0.0.1:${tlsPorts.pebble}/dir`,
        pebbleRootPem,
      };
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { kubeconfigPath, server: `https://127.0.0.1:${api}`, stateDir, ingressUrl, tls, nodeAddress, poolImage, stop };
}

/**
 * Creates a namespace named `<prefix>-<random>` and waits for its default
 * ServiceAccount, without which Pods in it are rejected.
 */
export async function createTestNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const base =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 50) || "test";
  const name = `${base}-${randomBytes(4).toString("hex")}`;
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({
    body: { metadata: { name, labels: { "pagoda.dev/test": "true" } } },
  });
  await waitFor(`ServiceAccount default in namespace ${name}`, 60_000, async () => {
    await core.readNamespacedServiceAccount({ name: "default", namespace: name });
    return true;
  });
  return name;
}
