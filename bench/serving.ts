// Shared serving pool against dedicated pods, on a real node, side by side in
// one run: `npm run bench:serving -- [--sites 1000] [--runs 10] [--seconds 10] [--rounds 3] [--connections 32]
// [--phases density,kwok,golive,throughput]`.
// Needs root and the real node (docs/cluster.md); run it alone on the machine:
//
//   flock /tmp/pagoda-quiet.lock flock /tmp/pagoda-realnode.lock npm run bench:serving
//
// What it measures, on one throwaway cluster with the operator in this
// process, a pool of 2 replicas (the pool image built from the agent bundle)
// and artifacts served from this host as the dashboard's signed URLs are:
//
//   density     the pool pods' resident memory (agent and nginx processes,
//               read from /proc: containers are host processes) empty and
//               with --sites idle shared sites; per site = the difference /
//               sites. Against it, one dedicated site pod's measured RSS
//               times --sites, and the memory the scheduler reserves for
//               that many pods (their requests).
//   kwok        --sites dedicated sites on a second, simulated cluster
//               (kwok: pods report Running without running), all Live:
//               the pods, their requests and the nodes they need as the
//               scheduler counts them, beside the measured RSS of the
//               density phase's real dedicated pod times those pods, and
//               the pool's RSS for as many shared sites.
//   go-live     spec written with a new digest → status Live at that digest
//               and its body served through Traefik, shared and dedicated,
//               --runs each (with the --sites idle sites in the pool); then
//               rollback (the previous digest again) likewise.
//   throughput  bombardier (scripts/bench/bombardier-build) against a pool
//               pod, a dedicated pod (both by pod IP, no Traefik in between),
//               and stock nginx with a minimal config twice: in a pod of the
//               pool's image with the pool pod's resources (the baseline: the
//               same bridge, container runtime and CPU limit) and on the host
//               (what running in a pod costs at all), and once more in a pod
//               with Pagoda's access log added and nothing else (what that
//               log costs where it goes through the container runtime); the
//               same files (a small HTML page and a ~100 KiB asset), rounds
//               alternating so machine noise hits all of them alike.
//
// Prints tables; asserts nothing. Not part of `npm test`.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import type { V1Pod } from "@kubernetes/client-node";
import pino from "pino";
import { NGINX_UID } from "@/operator/children";
import { accessLogDirectives } from "@/operator/nginx-config";
import type { Digest } from "@/lib/artifacts/digest";
import {
  isDigestLive,
  LABEL_MANAGED_BY,
  LABEL_MANAGED_BY_VALUE,
  LABEL_NAME,
  SITE_CONTAINER_RESOURCES,
  STATICSITE_GROUP,
  STATICSITE_PLURAL,
  STATICSITE_VERSION,
  type StaticSite,
  type StaticSiteSpec,
} from "@/lib/staticsite/types";
import { startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { startOperator, type RunningOperator } from "@/operator/controller";
import { Clients, createSiteNamespace, TEST_BASE_DOMAIN, testOperatorConfig, waitFor } from "@/operator/int-test-support";
import { runNginx } from "@/operator/nginx-test-support";
import { POOL_CONTAINER_RESOURCES } from "@/operator/pool/objects";
import { ArtifactServer, makeArtifact, podRssKiB, type Artifact } from "@/operator/pool/test-support";
import { findFreePort } from "@/scripts/lib/free-port";
import { getWithHost } from "@/tests/support/host-get";
import { growSimulatedNode, pool } from "./support";

const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    sites: { type: "string", default: "1000" },
    runs: { type: "string", default: "10" },
    seconds: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    phases: { type: "string", default: "density,kwok,golive,throughput" },
  },
});
const SITES = Number(args.sites);
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
/** Which parts run, in this order whatever the list's: go-live runs with the density phase's idle sites in the pool. */
const PHASES = new Set((args.phases ?? "").split(","));

const POOL_NAMESPACE = "pagoda-serving";
const POOL_REPLICAS = 2;
const DEDICATED_REQUEST_MIB = SITE_CONTAINER_RESOURCES.requests.memoryMiB;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const mib = (kib: number) => (kib / 1024).toFixed(1);

/** The bench's site: a small page and a ~100 KiB asset, with a marker that makes each artifact its own. */
function siteFiles(marker: string): Record<string, string | Buffer> {
  return {
    "index.html": `<!doctype html><title>${marker}</title><h1 id="m">${marker}</h1>${"<p>Lorem ipsum dolor sit amet.</p>".repeat(20)}\n`,
    // Incompressible, as images and bundles mostly are on the wire.
    "assets/data.3f2a9c1b.bin": randomBytes(100 * 1024),
  };
}

interface Bench {
  cluster: TestCluster;
  clients: Clients;
  operator: RunningOperator;
  artifacts: ArtifactServer;
  ns: string;
  work: string;
}

function hostOf(ns: string, name: string): string {
  return `${name}-${ns}.${TEST_BASE_DOMAIN}`;
}

async function apply(b: Bench, name: string, artifact: Artifact, serving: "shared" | "dedicated"): Promise<void> {
  b.artifacts.add(artifact);
  const spec: StaticSiteSpec = { artifact: { url: b.artifacts.urlOf(artifact.digest), digest: artifact.digest }, hosts: [hostOf(b.ns, name)], serving };
  await b.clients.applySite(b.ns, name, spec);
}

/** Resolves with the ms from now until the site is Live at `digest` and Traefik serves `body` for it. */
async function timeToLive(b: Bench, name: string, digest: Digest, body: string, write: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await write();
  let live = false;
  let served = false;
  for (;;) {
    if (!live) live = isDigestLive(await b.clients.getSite(b.ns, name), digest);
    if (!served) served = (await getWithHost(`${b.cluster.ingressUrl}/`, hostOf(b.ns, name)).catch(() => ({ body: "" }))).body === body;
    if (live && served) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function runningPods(b: Bench, namespace: string, labelSelector?: string): Promise<V1Pod[]> {
  const pods = (await b.clients.core.listNamespacedPod({ namespace, labelSelector })).items;
  return pods.filter(
    (p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  );
}

async function poolRss(b: Bench): Promise<{ kib: number; pods: number; detail: string }> {
  const pods = await runningPods(b, POOL_NAMESPACE);
  let kib = 0;
  const detail: string[] = [];
  for (const pod of pods) {
    const m = podRssKiB(pod.metadata!.uid!);
    kib += m.rssKiB;
    detail.push(`${pod.metadata!.name}: ${mib(m.rssKiB)} MiB (${m.processes.join(", ")})`);
  }
  return { kib, pods: pods.length, detail: detail.join("; ") };
}

/** Resident memory moves for a while after work (GC, nginx workers replaced on reload): the median of a few samples. */
async function settledPoolRss(b: Bench): Promise<{ kib: number; pods: number; detail: string }> {
  const samples: Awaited<ReturnType<typeof poolRss>>[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(await poolRss(b));
    await new Promise((r) => setTimeout(r, 2_000));
  }
  samples.sort((x, y) => x.kib - y.kib);
  return samples[2] as Awaited<ReturnType<typeof poolRss>>;
}

interface Load {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

async function bombard(bin: string, url: string, host?: string): Promise<Load> {
  // net/http, not bombardier's default fasthttp client: fasthttp dials the Host header's name instead of the URL's address.
  const argv = ["--http1", "-c", String(CONNECTIONS), "-d", `${SECONDS}s`, "-l", "-p", "r", "-o", "j", ...(host ? ["-H", `Host: ${host}`] : []), url];
  const { stdout } = await run(bin, argv, { maxBuffer: 1 << 20 });
  const r = (
    JSON.parse(stdout) as {
      result: {
        timeTakenSeconds: number;
        req2xx: number;
        req1xx: number;
        req3xx: number;
        req4xx: number;
        req5xx: number;
        others: number;
        latency: { percentiles: Record<string, number> };
      };
    }
  ).result;
  return {
    rps: r.req2xx / r.timeTakenSeconds,
    p50Ms: (r.latency.percentiles["50"] ?? 0) / 1000,
    p99Ms: (r.latency.percentiles["99"] ?? 0) / 1000,
    errors: r.req1xx + r.req3xx + r.req4xx + r.req5xx + r.others,
  };
}

/**
 * nginx settings of a stock server: as plain as nginx gets, with the one
 * worker the pool's and the dedicated configs run; with `accessLog`, plus
 * Pagoda's access log to stdout, and nothing else of ours.
 */
function stockConf(opts: { pid: string; tmp: string; root: string; listen: string; accessLog?: boolean }): string {
  return `worker_processes 1;
pid ${opts.pid};
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
${opts.accessLog ? accessLogDirectives("/dev/stdout") : "  access_log off;\n"}  sendfile on;
  client_body_temp_path ${opts.tmp}/body;
  proxy_temp_path ${opts.tmp}/proxy;
  fastcgi_temp_path ${opts.tmp}/fastcgi;
  uwsgi_temp_path ${opts.tmp}/uwsgi;
  scgi_temp_path ${opts.tmp}/scgi;
  server { listen ${opts.listen}; root ${opts.root}; location = /healthz { return 200; } }
}
`;
}

/**
 * Stock nginx in a pod of the pool's image on the node, with the pool pod's
 * resources and the same files: what the pool's pods are measured against
 * without the difference of where they run (the node's bridge, containerd,
 * a CPU limit).
 */
async function stockNginxPod(
  b: Bench,
  files: Record<string, string | Buffer>,
  opts: { name: string; accessLog?: boolean },
): Promise<{ url: string; stop(): Promise<void> }> {
  const { name } = opts;
  const conf = stockConf({ pid: "/tmp/nginx.pid", tmp: "/tmp", root: "/etc/stock/srv", listen: "8080", accessLog: opts.accessLog });
  const data: Record<string, string> = { "nginx.conf": conf };
  const binaryData: Record<string, string> = {};
  const items = [{ key: "nginx.conf", path: "nginx.conf" }];
  for (const [i, [file, content]] of Object.entries(files).entries()) {
    if (typeof content === "string") data[`f${i}`] = content;
    else binaryData[`f${i}`] = content.toString("base64");
    items.push({ key: `f${i}`, path: `srv/${file}` });
  }
  await b.clients.core.createNamespacedConfigMap({ namespace: b.ns, body: { metadata: { name }, data, binaryData } });
  const pod = await b.clients.core.createNamespacedPod({
    namespace: b.ns,
    body: {
      metadata: { name, labels: { app: name } },
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: NGINX_UID, runAsGroup: NGINX_UID, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
          {
            name: "nginx",
            image: b.cluster.poolImage!,
            imagePullPolicy: "IfNotPresent",
            command: ["nginx", "-e", "stderr", "-c", "/etc/stock/nginx.conf", "-g", "daemon off;"],
            ports: [{ containerPort: 8080 }],
            resources: POOL_CONTAINER_RESOURCES,
            readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 1 },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
            volumeMounts: [
              { name: "conf", mountPath: "/etc/stock" },
              { name: "tmp", mountPath: "/tmp" },
            ],
          },
        ],
        volumes: [
          { name: "conf", configMap: { name, items } },
          { name: "tmp", emptyDir: {} },
        ],
      },
    },
  });
  const ready = await waitFor(
    `${name} to be Ready`,
    async () => (await runningPods(b, b.ns, `app=${name}`)).find((p) => p.metadata?.uid === pod.metadata?.uid),
    60_000,
  ).catch(async (error: unknown) => {
    const now = await b.clients.core.readNamespacedPod({ namespace: b.ns, name });
    const logs = await b.clients.core.readNamespacedPodLog({ namespace: b.ns, name }).catch((e: unknown) => String(e));
    throw new Error(`${String(error)}\n${JSON.stringify(now.status)}\n${logs}`, { cause: error });
  });
  return {
    url: `http://${ready.status!.podIP}:8080`,
    stop: async () => {
      await b.clients.core.deleteNamespacedPod({ namespace: b.ns, name });
      await b.clients.core.deleteNamespacedConfigMap({ namespace: b.ns, name });
    },
  };
}

/** Stock nginx on the host serving the unpacked files: the reference the pool is measured against. */
async function stockNginx(work: string, artifact: Artifact): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = path.join(work, "stock");
  const root = path.join(dir, "html");
  await mkdir(path.join(dir, "tmp"), { recursive: true });
  await mkdir(root, { recursive: true });
  await writeFile(path.join(dir, "site.tar.gz"), artifact.bytes);
  await run("tar", ["-xzf", path.join(dir, "site.tar.gz"), "-C", root]);
  // nginx started by root runs its worker as nobody, who must reach the files (mkdtemp made the work dir 0700).
  await run("chmod", ["-R", "a+rX", dir]);
  await chmod(work, 0o755);
  const port = await findFreePort();
  const conf = stockConf({ pid: `${dir}/nginx.pid`, tmp: `${dir}/tmp`, root, listen: `127.0.0.1:${port}` });
  await writeFile(path.join(dir, "nginx.conf"), conf);
  const server = await runNginx(dir, path.join(dir, "nginx.conf"), port);
  return { url: `http://127.0.0.1:${port}`, stop: () => server.stop() };
}

async function main(): Promise<void> {
  const bombardier = (await run("bash", [path.join(repoRoot, "scripts", "bench", "bombardier-build")])).stdout.trim();
  const work = await mkdtemp(path.join(os.tmpdir(), "pagoda-bench-serving-"));
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const t0 = performance.now();
    const cluster = await startTestCluster({ node: "node", poolImage: true, timeoutSeconds: 300 });
    cleanups.push(() => cluster.stop());
    console.log(`cluster with a real node and ${cluster.poolImage} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const clients = Clients.fromFile(cluster.kubeconfigPath);
    const artifacts = await ArtifactServer.start(cluster.nodeAddress!);
    cleanups.push(() => artifacts.close());
    // The agents' store on a node directory, as in production; the agent runs as uid 101.
    const storeDir = path.join(work, "pool-store");
    await mkdir(storeDir);
    await chown(storeDir, 101, 101);
    const operator = await startOperator(
      testOperatorConfig(cluster.kubeconfigPath, {
        nginxImage: "pagoda.local/nginx:1",
        fetchImage: "pagoda.local/busybox:1",
        imagePullPolicy: "IfNotPresent",
        ingressClass: "traefik",
        defaultDomain: TEST_BASE_DOMAIN,
        pool: { image: cluster.poolImage!, namespace: POOL_NAMESPACE, replicas: POOL_REPLICAS, storeHostPath: storeDir, storeMaxBytes: undefined },
      }),
    );
    cleanups.push(() => operator.stop());
    const ns = await createSiteNamespace(clients.kc, "bench-serving");
    const b: Bench = { cluster, clients, operator, artifacts, ns, work };

    await waitFor("the pool's replicas to be Ready", async () => ((await runningPods(b, POOL_NAMESPACE)).length === POOL_REPLICAS ? true : undefined), 300_000);
    console.log(
      `${os.cpus().length} cores, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}; pool of ${POOL_REPLICAS} replicas`,
    );

    const measured = PHASES.has("density") ? await density(b) : undefined;
    if (PHASES.has("kwok")) await dedicatedOnKwok(measured);
    if (PHASES.has("golive")) await goLive(b);
    if (PHASES.has("throughput")) await throughput(b, bombardier, cleanups);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => console.error("clean-up failed:", err));
    await rm(work, { recursive: true, force: true });
  }
}

interface DensityFigures {
  /** The whole pool's RSS with --sites idle sites. */
  poolKiB: number;
  /** One real dedicated site pod's RSS. */
  dedicatedPodKiB: number;
}

async function density(b: Bench): Promise<DensityFigures> {
  const { cluster, clients, ns } = b;
  const empty = await settledPoolRss(b);
  const tCreate = performance.now();
  const idle = Array.from({ length: SITES }, (_, i) => `idle-${String(i).padStart(4, "0")}`);
  const idleArtifacts = new Map<string, Artifact>();
  for (const name of idle) {
    idleArtifacts.set(name, await makeArtifact({ "index.html": `<!doctype html><title>${name}</title><h1>${name}</h1>\n` }));
  }
  await pool(idle, 16, (name) => apply(b, name, idleArtifacts.get(name)!, "shared"));
  const written = performance.now();
  // A list of every site is large: once a second is often enough, and keeps the API server free for the operator.
  for (let live = 0; live < SITES; await new Promise((r) => setTimeout(r, 1_000))) {
    const list = (await clients.custom.listNamespacedCustomObject({
      group: STATICSITE_GROUP,
      version: STATICSITE_VERSION,
      plural: STATICSITE_PLURAL,
      namespace: ns,
    })) as {
      items: StaticSite[];
    };
    live = list.items.filter((s) => s.metadata.name.startsWith("idle-") && isDigestLive(s, idleArtifacts.get(s.metadata.name)!.digest)).length;
    if (performance.now() - written > 1_200_000) throw new Error(`only ${live} of ${SITES} shared sites Live after 20 minutes`);
  }
  const allLive = performance.now();
  const sample = idle.filter((_, i) => i % Math.max(1, Math.floor(SITES / 20)) === 0);
  for (const name of sample) {
    const res = await getWithHost(`${cluster.ingressUrl}/`, hostOf(ns, name));
    if (!res.body.includes(`<h1>${name}</h1>`)) throw new Error(`${name} is Live but Traefik answered ${res.status} ${res.body.slice(0, 100)}`);
  }
  const full = await settledPoolRss(b);

  // One dedicated site: its pod's nginx, measured the same way.
  const dedicatedArtifact = await makeArtifact(siteFiles("dedicated-0"));
  await timeToLive(b, "dedicated", dedicatedArtifact.digest, siteFiles("dedicated-0")["index.html"] as string, () =>
    apply(b, "dedicated", dedicatedArtifact, "dedicated"),
  );
  const [dedicatedPod] = await runningPods(b, ns, `${LABEL_NAME}=dedicated`);
  if (!dedicatedPod) throw new Error("the dedicated site has no ready pod");
  const dedicatedRss = podRssKiB(dedicatedPod.metadata!.uid!);

  const perSiteKiB = (full.kib - empty.kib) / SITES;
  console.log(
    `\ndensity: ${SITES} idle shared sites written in ${((written - tCreate) / 1000).toFixed(1)} s, all Live ${((allLive - tCreate) / 1000).toFixed(1)} s after the first write`,
  );
  console.table([
    { what: `pool, empty (${empty.pods} pods)`, "RSS MiB": mib(empty.kib), detail: empty.detail },
    { what: `pool, ${SITES} idle sites`, "RSS MiB": mib(full.kib), detail: full.detail },
    {
      what: "pool, per idle site (all replicas)",
      "RSS MiB": (perSiteKiB / 1024).toFixed(3),
      detail: `${perSiteKiB.toFixed(1)} KiB; per replica ${(perSiteKiB / POOL_REPLICAS).toFixed(1)} KiB`,
    },
    { what: "one dedicated site pod", "RSS MiB": mib(dedicatedRss.rssKiB), detail: dedicatedRss.processes.join(" ") },
    { what: `${SITES} dedicated sites, measured RSS × ${SITES}`, "RSS MiB": mib(dedicatedRss.rssKiB * SITES), detail: "one pod each (replicas 1)" },
    {
      what: `${SITES} dedicated sites, memory requested`,
      "RSS MiB": String(DEDICATED_REQUEST_MIB * SITES),
      detail: `${DEDICATED_REQUEST_MIB} MiB request per pod`,
    },
    {
      what: `shared: whole pool with ${SITES} sites`,
      "RSS MiB": mib(full.kib),
      detail: `${((dedicatedRss.rssKiB * SITES) / full.kib).toFixed(1)}× less than dedicated RSS`,
    },
  ]);
  return { poolKiB: full.kib, dedicatedPodKiB: dedicatedRss.rssKiB };
}

/** Kubernetes' default kubelet limit of pods per node (--max-pods). */
const DEFAULT_MAX_PODS = 110;

/** A container quantity as the operator writes them (`16Mi`, `1Gi`, `10m`, `1`), in MiB or millicores. */
function quantity(value: string | undefined, unit: "MiB" | "millicores"): number {
  const m = /^(\d+(?:\.\d+)?)(Mi|Gi|m)?$/.exec(value ?? "");
  if (!m) throw new Error(`unexpected ${unit} quantity ${value}`);
  const n = Number(m[1]);
  if (unit === "MiB") return m[2] === "Gi" ? n * 1024 : m[2] === "Mi" ? n : n / (1024 * 1024);
  return m[2] === "m" ? n : n * 1000;
}

/**
 * --sites dedicated sites on a simulated node, until every one is Live: the
 * cluster objects and reservations they really make, which the real node of
 * this machine could not hold, measured instead of multiplied.
 */
async function dedicatedOnKwok(measured: DensityFigures | undefined): Promise<void> {
  const t0 = performance.now();
  const cluster = await startTestCluster({ node: "kwok" });
  try {
    // Room for every pod and a rollout's surge: the simulated node's own 250 would leave most sites Pending.
    await growSimulatedNode(cluster.kubeconfigPath, SITES + 50);
    const clients = Clients.fromFile(cluster.kubeconfigPath);
    // Warnings only: its info line per child made would bury the tables.
    const operator = await startOperator(testOperatorConfig(cluster.kubeconfigPath, { defaultDomain: TEST_BASE_DOMAIN }), {
      log: pino({ level: "warn" }),
    });
    try {
      const ns = await createSiteNamespace(clients.kc, "bench-kwok");
      const names = Array.from({ length: SITES }, (_, i) => `dedicated-${String(i).padStart(4, "0")}`);
      const digest = `sha256:${"d".repeat(64)}`;
      await pool(names, 16, (name) =>
        clients.applySite(ns, name, { artifact: { url: `http://artifacts.invalid/${name}.tgz`, digest }, hosts: [hostOf(ns, name)] }),
      );
      for (let live = 0; live < SITES;) {
        await new Promise((r) => setTimeout(r, 1_000));
        const list = (await clients.custom.listNamespacedCustomObject({
          group: STATICSITE_GROUP,
          version: STATICSITE_VERSION,
          plural: STATICSITE_PLURAL,
          namespace: ns,
        })) as { items: StaticSite[] };
        live = list.items.filter((s) => isDigestLive(s, digest)).length;
        if (performance.now() - t0 > 1_200_000) throw new Error(`only ${live} of ${SITES} dedicated sites Live on kwok after 20 minutes`);
      }
      const allLive = performance.now();
      const pods = (await clients.core.listNamespacedPod({ namespace: ns })).items.filter((p) => p.status?.phase === "Running");
      // What the scheduler reserves for a pod: its containers' requests, or its largest init container's if that is more.
      const reserved = (pod: V1Pod, unit: "MiB" | "millicores") => {
        const key = unit === "MiB" ? "memory" : "cpu";
        const sum = (pod.spec?.containers ?? []).reduce((n, c) => n + quantity(c.resources?.requests?.[key], unit), 0);
        const init = Math.max(0, ...(pod.spec?.initContainers ?? []).map((c) => quantity(c.resources?.requests?.[key], unit)));
        return Math.max(sum, init);
      };
      const memoryMiB = pods.reduce((n, p) => n + reserved(p, "MiB"), 0);
      const cpuMillis = pods.reduce((n, p) => n + reserved(p, "millicores"), 0);
      const managed = { namespace: ns, labelSelector: `${LABEL_MANAGED_BY}=${LABEL_MANAGED_BY_VALUE}` };
      const lists = await Promise.all([
        clients.apps.listNamespacedDeployment(managed),
        clients.apps.listNamespacedReplicaSet(managed),
        clients.core.listNamespacedService(managed),
        clients.networking.listNamespacedIngress(managed),
        clients.core.listNamespacedConfigMap(managed),
      ]);
      const objects = lists.reduce((n, list) => n + list.items.length, 0) + pods.length;
      console.log(`
kwok: ${SITES} dedicated sites written and all Live in ${((allLive - t0) / 1000).toFixed(1)} s (cluster start included)`);
      console.table([
        {
          what: `${SITES} dedicated sites (kwok)`,
          figure: `${pods.length} pods Running`,
          detail: `${objects} objects: Deployments, ReplicaSets, Services, Ingresses, ConfigMaps, pods`,
        },
        { what: "memory requested", figure: `${memoryMiB.toFixed(0)} MiB`, detail: `${(memoryMiB / pods.length).toFixed(1)} MiB per pod` },
        { what: "CPU requested", figure: `${cpuMillis.toFixed(0)}m`, detail: `${(cpuMillis / pods.length).toFixed(1)}m per pod` },
        {
          what: `nodes at ${DEFAULT_MAX_PODS} pods each`,
          figure: String(Math.ceil(pods.length / DEFAULT_MAX_PODS)),
          detail: "Kubernetes' default pod limit per node, before any other workload",
        },
        ...(measured
          ? [
              {
                what: "their RSS (measured pod × pods)",
                figure: `${mib(measured.dedicatedPodKiB * pods.length)} MiB`,
                detail: `${mib(measured.dedicatedPodKiB)} MiB per pod, from the real node`,
              },
              {
                what: `the pool for ${SITES} shared sites`,
                figure: `${mib(measured.poolKiB)} MiB RSS, ${POOL_REPLICAS} pods`,
                detail: `${((measured.dedicatedPodKiB * pods.length) / measured.poolKiB).toFixed(1)}× less RSS, ${(memoryMiB / (quantity(POOL_CONTAINER_RESOURCES.requests.memory, "MiB") * POOL_REPLICAS)).toFixed(0)}× less memory requested`,
              },
            ]
          : []),
      ]);
    } finally {
      await operator.stop();
    }
  } finally {
    await cluster.stop();
  }
}

async function goLive(b: Bench): Promise<void> {
  const timings: Record<"shared" | "dedicated", { live: number[]; rollback: number[] }> = {
    shared: { live: [], rollback: [] },
    dedicated: { live: [], rollback: [] },
  };
  for (const serving of ["shared", "dedicated"] as const) {
    const name = `golive-${serving}`;
    let previous = await makeArtifact(siteFiles(`${name}-0`));
    let previousBody = siteFiles(`${name}-0`)["index.html"] as string;
    await timeToLive(b, name, previous.digest, previousBody, () => apply(b, name, previous, serving));
    for (let i = 1; i <= RUNS; i++) {
      const files = siteFiles(`${name}-${i}`);
      const next = await makeArtifact(files);
      timings[serving].live.push(await timeToLive(b, name, next.digest, files["index.html"] as string, () => apply(b, name, next, serving)));
      const back = previous;
      timings[serving].rollback.push(await timeToLive(b, name, back.digest, previousBody, () => apply(b, name, back, serving)));
      // Forward again, so the next run starts from the newest version like a person's next deploy.
      await timeToLive(b, name, next.digest, files["index.html"] as string, () => apply(b, name, next, serving));
      previous = next;
      previousBody = files["index.html"] as string;
    }
  }
  console.log(
    `\ngo-live (spec written → Live at the digest and its body served through Traefik), ${RUNS} runs each, ${SITES} idle shared sites in the pool; ms`,
  );
  console.table(
    (["shared", "dedicated"] as const).flatMap((s) => [
      {
        site: s,
        what: "new digest",
        p50: Math.round(median(timings[s].live)),
        p90: Math.round(percentile(timings[s].live, 90)),
        runs: timings[s].live.map(Math.round).join(" "),
      },
      {
        site: s,
        what: "rollback",
        p50: Math.round(median(timings[s].rollback)),
        p90: Math.round(percentile(timings[s].rollback, 90)),
        runs: timings[s].rollback.map(Math.round).join(" "),
      },
    ]),
  );
}

async function throughput(b: Bench, bombardier: string, cleanups: (() => Promise<void>)[]): Promise<void> {
  const { ns } = b;
  const loadFiles = siteFiles("load");
  const loadArtifact = await makeArtifact(loadFiles);
  const loadBody = loadFiles["index.html"] as string;
  await timeToLive(b, "load-shared", loadArtifact.digest, loadBody, () => apply(b, "load-shared", loadArtifact, "shared"));
  await timeToLive(b, "load-dedicated", loadArtifact.digest, loadBody, () => apply(b, "load-dedicated", loadArtifact, "dedicated"));
  const [poolPod] = await runningPods(b, POOL_NAMESPACE);
  const [loadPod] = await runningPods(b, ns, `${LABEL_NAME}=load-dedicated`);
  if (!poolPod?.status?.podIP || !loadPod?.status?.podIP) throw new Error("no pod IP for the load targets");
  const stock = await stockNginx(b.work, loadArtifact);
  cleanups.push(() => stock.stop());
  const stockPod = await stockNginxPod(b, loadFiles, { name: "stock-nginx" });
  cleanups.push(() => stockPod.stop());
  const loggingPod = await stockNginxPod(b, loadFiles, { name: "stock-nginx-log", accessLog: true });
  cleanups.push(() => loggingPod.stop());
  const targets = {
    "stock nginx (host)": { url: stock.url, host: undefined },
    "stock nginx (pod)": { url: stockPod.url, host: undefined },
    "stock + our access log (pod)": { url: loggingPod.url, host: undefined },
    "shared pool pod": { url: `http://${poolPod.status.podIP}:8080`, host: hostOf(ns, "load-shared") },
    "dedicated pod": { url: `http://${loadPod.status.podIP}:8080`, host: hostOf(ns, "load-dedicated") },
  } as const;
  type Target = keyof typeof targets;
  const names = Object.keys(targets) as Target[];
  for (const [file, label] of [
    ["/", "index.html (small page)"],
    ["/assets/data.3f2a9c1b.bin", "100 KiB asset"],
  ] as const) {
    for (const t of names) {
      const res = await getWithHost(`${targets[t].url}${file}`, targets[t].host ?? new URL(targets[t].url).host);
      if (res.status !== 200) throw new Error(`${t} answers ${res.status} for ${file}`);
    }
    const results = Object.fromEntries(names.map((t) => [t, [] as Load[]])) as Record<Target, Load[]>;
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate who goes first, so none always runs on a warmer or cooler machine.
      const order = names.map((_, i) => names[(i + round) % names.length] as Target);
      for (const t of order) results[t].push(await bombard(bombardier, `${targets[t].url}${file}`, targets[t].host));
    }
    const rpsOf = (t: Target) => median(results[t].map((r) => r.rps));
    console.log(`\nthroughput: ${label}, bombardier ${CONNECTIONS} connections, ${SECONDS} s × ${ROUNDS} rounds alternating`);
    console.table(
      names.map((t) => ({
        target: t,
        "req/s (median)": Math.round(rpsOf(t)),
        "req/s per round": results[t].map((r) => Math.round(r.rps)).join(" / "),
        "p50 ms": median(results[t].map((r) => r.p50Ms)).toFixed(2),
        "p99 ms": median(results[t].map((r) => r.p99Ms)).toFixed(2),
        "× stock (pod)": (rpsOf(t) / rpsOf("stock nginx (pod)")).toFixed(2),
        "× stock (host)": (rpsOf(t) / rpsOf("stock nginx (host)")).toFixed(2),
        "non-2xx": results[t].reduce((n, r) => n + r.errors, 0),
      })),
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
