// Operator benchmark: `npm run bench:operator -- [--sites 500] [--serving dedicated|shared] [--steady 60|0] [--floor all-writes|apply|create] [--controllers pause|run] [--operator-node-options="..."] [--kubeconfig path [--cluster-dir dir]]`.
//
// On a control-plane-only cluster (a fresh throw-away one unless --kubeconfig
// is given) it measures, side by side in one run:
//   floor:    every write of the operator phase made directly with the client
//             and the same way (the StaticSite, its children applied, one
//             status apply); with --floor apply or create, only the children;
//   operator: creating the StaticSites and letting the operator (a real
//             process, run exactly as in production: the bundle and its V8
//             options, scripts/operator-build.ts) create the children and
//             write status.
// It reports wall time and their ratio, API requests and writes per site,
// the operator's own CPU per site and its resident set (at start, at its
// peak, and the growth per site), each phase's CPU time by process, and the
// operator's writes during a steady-state window in which resyncs re-check
// every site.
//
// Fairness: the floor and the benchmark's own requests share one connection
// pool, as the operator's do (lib/kube/connection.ts), so no side pays a
// TLS handshake per request; the operator phase starts only once the
// controller manager has finished with the floor's Deployments; progress is
// followed through one watch on the StaticSites (children are checked once
// it is over), not by listing everything every 250 ms, which loaded the API
// server while the operator worked; neither window carries the controller
// manager's and scheduler's follow-up work (--controllers); and the floor's
// objects are gone before the operator phase starts.
// Each phase also prints the API server's own request and watch-event
// counts, so it is plain what it was busy with.
//
// With --serving shared the sites ask for the shared pool: the operator runs
// with a pool configured (its pods stay Pending on a cluster without a node,
// so every site ends PoolUnavailable, which is a status like any other) and
// builds no children; the floor is still the dedicated one, so the ratio
// then compares a shared run with a dedicated floor.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { EventsV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, Watch, type KubernetesObject, type V1Deployment } from "@kubernetes/client-node";
import { clusterProcesses, createTestNamespace, installCrds, startTestCluster, type TestCluster } from "@/local-cluster/testing";
import {
  LABEL_MANAGED_BY,
  LABEL_MANAGED_BY_VALUE,
  MANAGED_SELECTOR,
  STATICSITE_GROUP,
  STATICSITE_PLURAL,
  STATICSITE_VERSION,
  type StaticSite,
} from "@/lib/staticsite/types";
import { childNames, desiredChildren } from "@/operator/children";
import { Clients, siteSpec } from "@/operator/int-test-support";
import { apiStatusCode } from "@/lib/kube/request";
import { KubeApi } from "@/operator/kube-api";
import { createMetrics } from "@/operator/metrics";
import { deriveStatus } from "@/operator/status";
import { pooledKubeConfig, type PooledKubeConfig } from "@/lib/kube/connection";
import { findFreePort } from "@/scripts/lib/free-port";
import { operatorCommand } from "@/scripts/operator-build";
import { apiServerCounters, benchChildConfig, counterDiff, cpuSeconds, pool, processName } from "./support";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const { values: args } = parseArgs({
  options: {
    sites: { type: "string", default: "500" },
    serving: { type: "string", default: "dedicated" },
    steady: { type: "string", default: "60" },
    concurrency: { type: "string", default: "4" },
    // How the floor writes. "all-writes" (the default): every write of the
    // operator phase done directly and the same way (the StaticSite as the
    // benchmark writes it, the children applied, one status apply), so that
    // the ratio is the operator's own overhead. For information: "apply"
    // (the children only, by server-side apply) and "create" (the children
    // only, by POST, the cheapest way to make an object), which tell the API
    // server's price of apply and of the status write apart.
    floor: { type: "string", default: "all-writes" },
    resync: { type: "string", default: "30" },
    kubeconfig: { type: "string" },
    // With --kubeconfig: the cluster's state directory, to split CPU time by
    // process (the throw-away cluster's is known).
    "cluster-dir": { type: "string" },
    // "pause" (the default) stops the controller manager and scheduler
    // (SIGSTOP) for the two timed windows and resumes them after each.
    // Their work on the new Deployments and Services (ReplicaSets, Pods,
    // EndpointSlices, Events) runs at its own rate-limited pace whoever made
    // the objects, so a longer window absorbs more of it: in one run with
    // "run", 1500 more requests than the floor's window. Paused, each window
    // holds only the work of the writer under test.
    controllers: { type: "string", default: "pause" },
    // Extra node options for the operator process, after its production
    // ones, given with "=" since they start with a dash:
    // --operator-node-options="--cpu-prof --cpu-prof-dir=/tmp/prof" (or --heap-prof) to
    // see where its time and memory go (written when it exits).
    "operator-node-options": { type: "string", default: "" },
  },
});
const sites = Number(args.sites);
const steadySeconds = Number(args.steady);
const concurrency = Number(args.concurrency);
const floorVerb = args.floor;
if (floorVerb !== "create" && floorVerb !== "apply" && floorVerb !== "all-writes") throw new Error("--floor must be create, apply or all-writes");
const pauseControllers = args.controllers === "pause";
if (!pauseControllers && args.controllers !== "run") throw new Error("--controllers must be pause or run");
const serving = args.serving;
if (serving !== "dedicated" && serving !== "shared") throw new Error("--serving must be dedicated or shared");
const resyncSeconds = Number(args.resync);
for (const [name, v] of Object.entries({ sites, concurrency, resync: resyncSeconds })) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
}
// --steady 0 stops after convergence: quicker when only the ratio is wanted.
if (!Number.isFinite(steadySeconds) || steadySeconds < 0) throw new Error("--steady must be 0 or a positive number");

const names = Array.from({ length: sites }, (_, i) => `site-${String(i).padStart(4, "0")}`);

/**
 * Deletes `ns` and waits until it is gone with everything in it. What a
 * phase leaves behind would make the next one dearer: each Service's
 * cluster IP is allocated by a scan of those already taken, and a larger
 * watch cache means more garbage collection in the API server.
 */
async function deleteNamespace(clients: Clients, ns: string): Promise<void> {
  await clients.core.deleteNamespace({ name: ns });
  for (;;) {
    try {
      await clients.core.readNamespace({ name: ns });
    } catch (err) {
      if (apiStatusCode(err) === 404) return;
      throw err;
    }
    await sleep(1000);
  }
}

/**
 * Deletes the floor's objects in `ns` directly, while the controller manager
 * is still paused: it then never starts on their ReplicaSets, Pods and
 * EndpointSlices, work that runs at its client rate limit (about 100 s per
 * 500 sites, and as much again to garbage-collect it) and would make a run
 * at 2,000 sites last most of an hour. What is left for the namespace
 * controller is an empty namespace.
 */
async function deleteFloorObjects(clients: Clients, ns: string): Promise<void> {
  const namespace = ns;
  await Promise.all([
    clients.apps.deleteCollectionNamespacedDeployment({ namespace }),
    clients.core.deleteCollectionNamespacedService({ namespace }),
    clients.core.deleteCollectionNamespacedConfigMap({ namespace }),
    clients.networking.deleteCollectionNamespacedIngress({ namespace }),
    clients.custom.deleteCollectionNamespacedCustomObject({ group: STATICSITE_GROUP, version: STATICSITE_VERSION, plural: STATICSITE_PLURAL, namespace }),
  ]);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Writes what the operator would, straight through the client, `concurrency`
 * sites at a time: the children (created with --floor create, else
 * applied), and with --floor all-writes also the StaticSite before them and
 * a status after them.
 */
async function runFloor(
  kc: KubeConfig,
  ns: string,
  siteNames: string[] = names,
  verb: typeof floorVerb = floorVerb,
): Promise<{ ms: number; requests: number }> {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const clients = new Clients(kc);
  // The status goes through the operator's own client, exactly as it writes one.
  const operatorApi = new KubeApi(kc, createMetrics());
  let requests = 0;
  const start = performance.now();
  await pool(siteNames, concurrency, async (name) => {
    const spec = siteSpec({ hosts: [`${name}.example.com`] });
    let site: StaticSite = {
      apiVersion: "pagoda.dev/v1alpha1",
      kind: "StaticSite",
      metadata: { name, namespace: ns, uid: "00000000-0000-0000-0000-000000000000" },
      spec,
    };
    if (verb === "all-writes") {
      site = await clients.applySite(ns, name, spec, { [LABEL_MANAGED_BY]: "pagoda-bench-floor" });
      requests++;
    }
    const c = desiredChildren(site, benchChildConfig);
    for (const obj of [c.configMap, c.service, c.deployment, c.ingress].filter((o): o is NonNullable<typeof o> => !!o)) {
      // Without owner references: the garbage collector must not take the
      // children when the floor's StaticSites do not exist (bench:api-verbs
      // finds owner references cost the API server nothing measurable).
      // Relabelled so that the operator under test neither caches nor reacts to the floor's objects.
      const json = JSON.stringify({ ...obj, metadata: { ...obj.metadata, ownerReferences: undefined } }).replaceAll(
        `"${LABEL_MANAGED_BY}":"${LABEL_MANAGED_BY_VALUE}"`,
        `"${LABEL_MANAGED_BY}":"pagoda-bench-floor"`,
      );
      const plain = JSON.parse(json) as KubernetesObject;
      if (verb === "create") await objects.create(plain);
      else await objects.patch(plain, undefined, undefined, "pagoda-bench-floor", true, PatchStrategy.ServerSideApply);
      requests++;
    }
    if (verb === "all-writes") {
      const status = deriveStatus({ site, deployment: undefined, pods: [], url: `https://${name}.example.com`, now: new Date() });
      await operatorApi.applyStatus(site, status);
      requests++;
    }
  });
  return { ms: performance.now() - start, requests };
}

/**
 * Follows the operator's progress in `ns` and resolves at the event that
 * completes it: every StaticSite has a status for generation 1. One watch,
 * not one per child kind: every watcher costs the API server an encoding
 * and a send of each event, load the floor never has to carry. The operator
 * writes a site's status only after applying its children, and
 * childrenCreatedBy() checks afterwards that every child exists and was made
 * before that moment.
 */
async function convergence(kc: KubeConfig, ns: string): Promise<{ at: Promise<number>; stop: () => void }> {
  const done = new Set<string>();
  let resolve!: (ms: number) => void;
  let reject!: (err: unknown) => void;
  const at = new Promise<number>((res, rej) => ((resolve = res), (reject = rej)));
  const request = await new Watch(kc).watch(
    `/apis/pagoda.dev/v1alpha1/namespaces/${ns}/staticsites`,
    {},
    (type: string, obj: StaticSite) => {
      if (type === "DELETED" || obj.status?.observedGeneration !== 1) return;
      done.add(obj.metadata.name);
      if (done.size === sites) resolve(performance.now());
    },
    (err: unknown) => {
      // A watch the API server ends early would leave the run waiting for good.
      if (err) reject(err);
    },
  );
  return { at, stop: () => request.abort() };
}

/**
 * Throws unless every site in `ns` has its four children, each created no
 * later than `by` (wall clock; creation times have one-second resolution).
 */
async function childrenCreatedBy(clients: Clients, ns: string, by: Date): Promise<void> {
  const opts = { namespace: ns, labelSelector: MANAGED_SELECTOR };
  const lists = {
    ConfigMap: (await clients.core.listNamespacedConfigMap(opts)).items,
    Service: (await clients.core.listNamespacedService(opts)).items,
    Deployment: (await clients.apps.listNamespacedDeployment(opts)).items,
    Ingress: (await clients.networking.listNamespacedIngress(opts)).items,
  };
  const latest = Math.ceil(by.getTime() / 1000) * 1000;
  for (const [kind, items] of Object.entries(lists)) {
    const created = new Map(items.map((o) => [o.metadata?.name, o.metadata?.creationTimestamp]));
    for (const name of names) {
      const n = childNames(name);
      const childName = kind === "ConfigMap" ? n.configMap : n.deployment;
      const at = created.get(childName);
      if (!at) throw new Error(`${kind} ${ns}/${childName} does not exist, yet its StaticSite has a status`);
      if (new Date(at).getTime() > latest)
        throw new Error(`${kind} ${ns}/${childName} was created at ${new Date(at).toISOString()}, after convergence at ${by.toISOString()}`);
    }
  }
}

/** Throws if a shared site got any child of its own. */
async function noChildren(clients: Clients, ns: string): Promise<void> {
  const opts = { namespace: ns, labelSelector: MANAGED_SELECTOR };
  const counts = {
    ConfigMap: (await clients.core.listNamespacedConfigMap(opts)).items.length,
    Service: (await clients.core.listNamespacedService(opts)).items.length,
    Deployment: (await clients.apps.listNamespacedDeployment(opts)).items.length,
    Ingress: (await clients.networking.listNamespacedIngress(opts)).items.length,
  };
  if (Object.values(counts).some((n) => n > 0)) throw new Error(`shared sites in ${ns} have children of their own: ${JSON.stringify(counts)}`);
}

/**
 * Waits until the controller manager has caught up with every Deployment in
 * `ns`; with `final`, also until each has reached its last state: available,
 * or (no node to run the Pods) past its progress deadline, whose expiry
 * changes the Deployment's conditions and so, rightly, the site's status.
 */
async function deploymentsSettled(clients: Clients, ns: string, final = false): Promise<void> {
  const settled = (d: V1Deployment) => {
    const caughtUp = (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) && d.status?.replicas === d.spec?.replicas;
    if (!caughtUp || !final) return caughtUp;
    const conditions = d.status?.conditions ?? [];
    return conditions.some((c) => (c.type === "Available" && c.status === "True") || (c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded"));
  };
  for (;;) {
    const deps = await clients.apps.listNamespacedDeployment({ namespace: ns });
    if (deps.items.every(settled)) return;
    await sleep(1000);
  }
}

function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

function parseMetric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** `verb kind` → count, from pagoda_operator_api_writes_total lines. */
function writesByKind(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^pagoda_operator_api_writes_total\{verb="([^"]+)",kind="([^"]+)"\} (\S+)$/.exec(line);
    if (m) out[`${m[1]} ${m[2]}`] = Number(m[3]);
  }
  return out;
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

/** Whole-machine CPU seconds: busy and total (all cores), from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: (total - idle) / 100, total: total / 100 };
}

/**
 * Where a phase's CPU went: each cluster component, the operator, this
 * benchmark, and how busy the whole machine was. A phase that keeps every
 * core busy is bound by total CPU work, not by anyone's latency.
 */
class CpuSplit {
  private constructor(
    private readonly pids: Map<string, number>,
    private readonly start: Map<string, number>,
    private readonly machine: { busy: number; total: number },
  ) {}

  static begin(pids: Map<string, number>): CpuSplit {
    return new CpuSplit(pids, CpuSplit.sample(pids), machineCpu());
  }

  private static sample(pids: Map<string, number>): Map<string, number> {
    const out = new Map<string, number>([["benchmark", (process.cpuUsage().user + process.cpuUsage().system) / 1e6]]);
    for (const [name, pid] of pids) {
      try {
        out.set(name, cpuSeconds(pid));
      } catch {
        // The process is gone; it simply drops out of the split.
      }
    }
    return out;
  }

  /** "name seconds, ..." for the time since begin(), plus machine busy share. */
  end(): string {
    const now = CpuSplit.sample(this.pids);
    const machine = machineCpu();
    const used = [...now].map(([name, s]) => [name, s - (this.start.get(name) ?? s)] as const);
    const total = used.reduce((sum, [, s]) => sum + s, 0);
    const busy = (machine.busy - this.machine.busy) / Math.max(0.01, machine.total - this.machine.total);
    return `${used.map(([name, s]) => `${name} ${s.toFixed(1)} s`).join(", ")} (sum ${total.toFixed(1)} s); machine ${(100 * busy).toFixed(0)}% busy`;
  }
}

function componentPids(stateDir: string | undefined): Map<string, number> {
  const pids = new Map<string, number>();
  if (!stateDir) return pids;
  for (const pid of clusterProcesses(stateDir)) {
    const exe = processName(pid);
    if (["kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler"].includes(exe)) pids.set(exe, pid);
  }
  return pids;
}

/** With --controllers pause: stops or resumes the controller manager and scheduler. */
function controllers(pids: Map<string, number>, signal: "SIGSTOP" | "SIGCONT"): void {
  if (!pauseControllers) return;
  for (const name of ["kube-controller-manager", "kube-scheduler"]) {
    const pid = pids.get(name);
    if (!pid) throw new Error(`--controllers pause: no ${name} process found (give --cluster-dir, or --controllers run)`);
    process.kill(pid, signal);
  }
}

function statusMb(pid: number, field: "VmHWM" | "VmRSS"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? "0");
  return Math.round(kb / 1024);
}

/** The kernel's high-water mark of the process's resident set. */
function peakRssMb(pid: number): number {
  return statusMb(pid, "VmHWM");
}

function rssMb(pid: number): number {
  return statusMb(pid, "VmRSS");
}

async function main(): Promise<void> {
  let cluster: TestCluster | undefined;
  let operator: ChildProcess | undefined;
  let connection: PooledKubeConfig | undefined;
  let components = new Map<string, number>();
  try {
    let kubeconfigPath = args.kubeconfig;
    if (!kubeconfigPath) {
      console.log("starting a throw-away control plane ...");
      cluster = await startTestCluster();
      kubeconfigPath = cluster.kubeconfigPath;
    }
    const fromFile = new KubeConfig();
    fromFile.loadFromFile(kubeconfigPath);
    connection = pooledKubeConfig(fromFile);
    components = componentPids(cluster?.stateDir ?? args["cluster-dir"]);
    const kc = connection.kc;
    const clients = new Clients(kc);
    // A throw-away cluster comes with the CRD; an existing one may not.
    if (args.kubeconfig) await installCrds(kc, path.join(repoRoot, "deploy", "crds"));

    // A fresh API server, etcd and controller manager are slower for their
    // first few hundred objects; a warm-up keeps that out of the floor (on
    // a fresh cluster the floor took 24 s, on a warm one 12-15 s).
    const warmUpSites = Math.min(100, sites);
    console.log(`warm-up: creating ${warmUpSites} sites' children ...`);
    const warmUpNs = await createTestNamespace(kc, "bench-warm-up");
    await runFloor(kc, warmUpNs, names.slice(0, warmUpSites), "create");
    await deploymentsSettled(clients, warmUpNs);

    const floorWhat = {
      create: "creating the children",
      apply: "applying the children",
      "all-writes": "writing the StaticSite, applying the children and a status",
    }[floorVerb];
    console.log(`floor: for each of ${sites} sites, ${floorWhat} directly (concurrency ${concurrency}) ...`);
    const floorNs = await createTestNamespace(kc, "bench-floor");
    const floorLoad = loadAverage();
    const floorCpu = CpuSplit.begin(components);
    const floorApi0 = await apiServerCounters(kc);
    controllers(components, "SIGSTOP");
    const floor = await runFloor(kc, floorNs);
    const floorApi = counterDiff(floorApi0, await apiServerCounters(kc), 5);
    const floorCpuSplit = floorCpu.end();
    const floorSettleStart = performance.now();
    if (pauseControllers) {
      console.log("deleting the floor's objects before the controller manager resumes ...");
      await deleteFloorObjects(clients, floorNs);
      controllers(components, "SIGCONT");
    } else {
      console.log("waiting for the controller manager to finish with the floor's Deployments ...");
      await deploymentsSettled(clients, floorNs);
    }
    const floorSettleMs = performance.now() - floorSettleStart;
    console.log("deleting the floor's namespace ...");
    await deleteNamespace(clients, floorNs);

    const port = await findFreePort();
    const built = await operatorCommand((m) => console.log(m));
    const extraNodeOptions = args["operator-node-options"].split(" ").filter(Boolean);
    // The production options first, then the extra ones, then the bundle.
    const command = built.command;
    const operatorArgs = [...built.args.slice(0, -1), ...extraNodeOptions, ...built.args.slice(-1)];
    operator = spawn(command, operatorArgs, {
      cwd: repoRoot,
      env: {
        ...process.env,
        KUBECONFIG: kubeconfigPath,
        LOG_LEVEL: "warn",
        PAGODA_OPERATOR_PORT: String(port),
        PAGODA_OPERATOR_CONCURRENCY: String(concurrency),
        PAGODA_OPERATOR_RESYNC_SECONDS: String(resyncSeconds),
        PAGODA_OPERATOR_LEASE_NAME: `pagoda-bench-${Date.now().toString(36)}`,
        // The benchmark's namespaces and hosts, not a tenant's.
        PAGODA_OPERATOR_NAMESPACE_SELECTOR: "pagoda.dev/test=true",
        PAGODA_BASE_DOMAIN: "example.com",
        ...(serving === "shared"
          ? { PAGODA_OPERATOR_POOL_IMAGE: "pagoda.local/pool:bench", PAGODA_OPERATOR_POOL_NAMESPACE: `pagoda-bench-pool-${Date.now().toString(36)}` }
          : {}),
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const pid = operator.pid;
    if (!pid) throw new Error("could not start the operator process");
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok && parseMetric(await scrape(port), "pagoda_operator_leader") === 1) break;
      if (operator.exitCode !== null) throw new Error(`operator exited with ${operator.exitCode}`);
      await sleep(100);
    }
    // The process as started and synced (no sites yet): the rest of its peak is what the sites cost.
    const rssAtStartMb = rssMb(pid);
    const baseline = await scrape(port);
    const requests0 = parseMetric(baseline, "pagoda_operator_api_requests_total");
    const writes0 = parseMetric(baseline, "pagoda_operator_api_writes_total");

    console.log(`operator: creating ${sites} StaticSites and waiting for children and status ...`);
    const ns = await createTestNamespace(kc, "bench-operator");
    const progress = await convergence(kc, ns);
    const operatorLoad = loadAverage();
    const startCpu = cpuSeconds(pid);
    const operatorCpuSplit = CpuSplit.begin(new Map([...components, ["operator", pid]]));
    const operatorApi0 = await apiServerCounters(kc);
    controllers(components, "SIGSTOP");
    const start = performance.now();
    let rssPeak = 0;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, peakRssMb(pid))), 250);
    const creating = pool(names, 16, async (name) => {
      await clients.applySite(ns, name, siteSpec({ hosts: [`${name}.example.com`], ...(serving === "shared" ? { serving } : {}) }));
    });
    let createdMs = 0;
    void creating.then(() => (createdMs = performance.now() - start));
    const doneAt = await progress.at;
    const doneWallClock = new Date();
    controllers(components, "SIGCONT");
    progress.stop();
    await creating;
    const operatorMs = doneAt - start;
    const operatorCpu = cpuSeconds(pid) - startCpu;
    const rssPeakAtConvergence = Math.max(rssPeak, peakRssMb(pid));
    const operatorApi = counterDiff(operatorApi0, await apiServerCounters(kc), 5);
    if (serving === "shared") await noChildren(clients, ns);
    else await childrenCreatedBy(clients, ns, doneWallClock);
    const operatorPhaseCpu = operatorCpuSplit.end();
    const converged = await scrape(port);
    const requests = parseMetric(converged, "pagoda_operator_api_requests_total") - requests0;
    const writes = parseMetric(converged, "pagoda_operator_api_writes_total") - writes0;
    const reconciles = parseMetric(converged, "pagoda_operator_reconciles_total");
    const baselineByKind = writesByKind(baseline);
    const convergeWritesByKind = Object.fromEntries(
      Object.entries(writesByKind(converged))
        .map(([k, v]) => [k, v - (baselineByKind[k] ?? 0)] as const)
        .filter(([, v]) => v > 0),
    );

    // With --steady 0 the run ends at convergence.
    const measureSteadyState = async () => {
      // Steady state means the world stopped changing: the controller manager
      // (slow under load) has created every ReplicaSet and Pod, and status
      // reflects it. Until then, status writes are legitimate news.
      console.log("waiting for the controller manager to settle and every rollout to end (up to the 300 s progress deadline) ...");
      for (;;) {
        await deploymentsSettled(clients, ns, true);
        const text = await scrape(port);
        if (parseMetric(text, "pagoda_operator_queue_depth") === 0 && parseMetric(text, "pagoda_operator_queue_active") === 0) break;
        await sleep(1000);
      }
      // One more pass so every status has seen the settled state.
      await sleep(5000);
      const settledText = await scrape(port);

      console.log(`steady state: watching writes for ${steadySeconds} s (resync every ${resyncSeconds} s) ...`);
      const steadyLoadStart = loadAverage();
      const steadyStart = parseMetric(settledText, "pagoda_operator_api_writes_total");
      const steadyByKind = writesByKind(settledText);
      const reconcilesStart = parseMetric(settledText, "pagoda_operator_reconciles_total");
      await sleep(steadySeconds * 1000);
      const after = await scrape(port);
      const steadyWrites = parseMetric(after, "pagoda_operator_api_writes_total") - steadyStart;
      const steadyReconciles = parseMetric(after, "pagoda_operator_reconciles_total") - reconcilesStart;
      const afterByKind = writesByKind(after);
      const windowStart = Date.now() - steadySeconds * 1000;
      const events = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
      const steadyEventReasons: Record<string, number> = {};
      for (const e of events.items) {
        if (e.reportingController !== "pagoda.dev/operator" || !e.eventTime || new Date(e.eventTime).getTime() < windowStart) continue;
        steadyEventReasons[e.reason ?? "?"] = (steadyEventReasons[e.reason ?? "?"] ?? 0) + 1;
      }
      const steadyWritesByKind = Object.fromEntries(
        Object.entries(afterByKind)
          .map(([k, v]) => [k, v - (steadyByKind[k] ?? 0)] as const)
          .filter(([, v]) => v > 0),
      );
      return {
        loadAverageSteady: `${steadyLoadStart} → ${loadAverage()}`,
        steadySeconds,
        steadyReconciles,
        steadyWrites,
        steadyWritesByKind: JSON.stringify(steadyWritesByKind),
        steadyEventReasons: JSON.stringify(steadyEventReasons),
      };
    };
    const steady = steadySeconds > 0 ? await measureSteadyState() : {};
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, peakRssMb(pid));

    const result = {
      sites,
      serving,
      concurrency,
      operatorCommand: [path.basename(command), ...operatorArgs.map((a) => path.relative(repoRoot, a) || a)].join(" "),
      loadAverageAtFloor: floorLoad,
      loadAverageAtOperator: operatorLoad,
      floorSeconds: +(floor.ms / 1000).toFixed(2),
      floorVerb,
      controllers: pauseControllers ? "paused in both windows" : "running",
      floorRequests: floor.requests,
      floorCpu: floorCpuSplit,
      floorApiServer: floorApi,
      floorControllerManagerCatchUpSeconds: +(floorSettleMs / 1000).toFixed(2),
      operatorSeconds: +(operatorMs / 1000).toFixed(2),
      staticSitesCreatedSeconds: +(createdMs / 1000).toFixed(2),
      ratio: +(operatorMs / floor.ms).toFixed(2),
      operatorRequests: requests,
      operatorWrites: writes,
      requestsPerSite: +(requests / sites).toFixed(2),
      writesPerSite: +(writes / sites).toFixed(2),
      reconciles,
      requestsPerReconcile: +(requests / reconciles).toFixed(2),
      writesByKind: JSON.stringify(convergeWritesByKind),
      operatorPhaseCpu,
      operatorPhaseApiServer: operatorApi,
      operatorCpuSeconds: +operatorCpu.toFixed(1),
      operatorCpuMsPerSite: +((operatorCpu * 1000) / sites).toFixed(2),
      operatorRssAtStartMb: rssAtStartMb,
      operatorPeakRssAtConvergenceMb: rssPeakAtConvergence,
      operatorPeakRssMb: rssPeak,
      operatorRssGrowthKbPerSite: +(((rssPeakAtConvergence - rssAtStartMb) * 1024) / sites).toFixed(1),
      ...steady,
    };
    console.log("\nresult");
    console.table(result);
    console.log(JSON.stringify(result));
  } finally {
    // A failed run must not leave a kept cluster's controllers stopped.
    if (components.size > 0) controllers(components, "SIGCONT");
    if (operator && operator.exitCode === null) {
      operator.kill("SIGTERM");
      await new Promise((r) => operator?.once("exit", r));
    }
    await connection?.close();
    await cluster?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
