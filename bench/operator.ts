// Operator benchmark: `npm run bench:operator -- [--sites 500] [--steady 60] [--kubeconfig path]`.
//
// On a control-plane-only cluster (a fresh throw-away one unless --kubeconfig
// is given) it measures, side by side in one run:
//   floor:    creating every site's child objects directly with the client;
//   operator: creating the StaticSites and letting the operator (a real
//             process, operator/main.ts) create the children and write status.
// It reports wall time and their ratio, API requests and writes per site,
// the operator's peak RSS, and the operator's writes during a steady-state
// window in which resyncs re-check every site.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { EventsV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { createTestNamespace, startTestCluster, type TestCluster } from "@/cluster/testing";
import { LABEL_MANAGED_BY, LABEL_MANAGED_BY_VALUE, type StaticSite } from "@/lib/k8s/staticsite";
import { desiredChildren, type ChildConfig } from "@/operator/desired-state";
import { Clients, siteSpec } from "@/operator/int-test-support";
import { findFreePort } from "@/scripts/lib/free-port";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const { values: args } = parseArgs({
  options: {
    sites: { type: "string", default: "500" },
    steady: { type: "string", default: "60" },
    concurrency: { type: "string", default: "4" },
    resync: { type: "string", default: "30" },
    kubeconfig: { type: "string" },
  },
});
const sites = Number(args.sites);
const steadySeconds = Number(args.steady);
const concurrency = Number(args.concurrency);
const resyncSeconds = Number(args.resync);
for (const [name, v] of Object.entries({ sites, steady: steadySeconds, concurrency, resync: resyncSeconds })) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
}

const childConfig: ChildConfig = {
  nginxImage: "nginxinc/nginx-unprivileged:1.27-alpine",
  fetchImage: "busybox:1.37",
  imagePullPolicy: "IfNotPresent",
  ingressClass: undefined,
  tls: false,
  clusterIssuer: undefined,
  defaultDomain: undefined,
};

const names = Array.from({ length: sites }, (_, i) => `site-${String(i).padStart(4, "0")}`);

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Creates the same children the operator would, straight through the client, `concurrency` sites at a time. */
async function runFloor(kc: KubeConfig, ns: string): Promise<{ ms: number; requests: number }> {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  let requests = 0;
  const start = performance.now();
  await pool(names, concurrency, async (name) => {
    const site: StaticSite = {
      apiVersion: "pagoda.dev/v1alpha1",
      kind: "StaticSite",
      metadata: { name, namespace: ns, uid: "00000000-0000-0000-0000-000000000000" },
      spec: siteSpec({ hosts: [`${name}.example.com`] }),
    };
    const c = desiredChildren(site, childConfig);
    for (const obj of [c.configMap, c.service, c.deployment, c.ingress].filter((o): o is NonNullable<typeof o> => !!o)) {
      // Without owner references: the owner does not exist and the garbage collector would remove them.
      // Relabelled so that the operator under test neither caches nor reacts to the floor's objects.
      const json = JSON.stringify({ ...obj, metadata: { ...obj.metadata, ownerReferences: undefined } }).replaceAll(
        `"${LABEL_MANAGED_BY}":"${LABEL_MANAGED_BY_VALUE}"`,
        `"${LABEL_MANAGED_BY}":"pagoda-bench-floor"`,
      );
      const plain = JSON.parse(json) as KubernetesObject;
      await objects.create(plain);
      requests++;
    }
  });
  return { ms: performance.now() - start, requests };
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

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return Math.round(kb / 1024);
}

async function main(): Promise<void> {
  let cluster: TestCluster | undefined;
  let operator: ChildProcess | undefined;
  try {
    let kubeconfigPath = args.kubeconfig;
    if (!kubeconfigPath) {
      console.log("starting a throw-away control plane ...");
      cluster = await startTestCluster();
      kubeconfigPath = cluster.kubeconfigPath;
    }
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const clients = new Clients(kc);

    console.log(`floor: creating ${sites} sites' children directly (concurrency ${concurrency}) ...`);
    const floorNs = await createTestNamespace(kc, "bench-floor");
    const floor = await runFloor(kc, floorNs);

    const port = await findFreePort();
    operator = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "operator", "main.ts")], {
      cwd: repoRoot,
      env: {
        ...process.env,
        KUBECONFIG: kubeconfigPath,
        LOG_LEVEL: "warn",
        PAGODA_OPERATOR_PORT: String(port),
        PAGODA_OPERATOR_CONCURRENCY: String(concurrency),
        PAGODA_OPERATOR_RESYNC_SECONDS: String(resyncSeconds),
        PAGODA_OPERATOR_LEASE_NAME: `pagoda-bench-${Date.now().toString(36)}`,
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const pid = operator.pid;
    if (!pid) throw new Error("could not start the operator process");
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (ok && parseMetric(await scrape(port), "pagoda_operator_leader") === 1) break;
      if (operator.exitCode !== null) throw new Error(`operator exited with ${operator.exitCode}`);
      await sleep(100);
    }
    const baseline = await scrape(port);
    const requests0 = parseMetric(baseline, "pagoda_operator_api_requests_total");
    const writes0 = parseMetric(baseline, "pagoda_operator_api_writes_total");

    console.log(`operator: creating ${sites} StaticSites and waiting for children and status ...`);
    const ns = await createTestNamespace(kc, "bench-operator");
    const start = performance.now();
    let rssPeak = 0;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, peakRssMb(pid))), 250);
    const creating = pool(names, 16, async (name) => {
      await clients.applySite(ns, name, siteSpec({ hosts: [`${name}.example.com`] }));
    });
    let createdMs = 0;
    void creating.then(() => (createdMs = performance.now() - start));
    for (;;) {
      const [deps, cms, svcs, ings, list] = await Promise.all([
        clients.apps.listNamespacedDeployment({ namespace: ns }),
        clients.core.listNamespacedConfigMap({ namespace: ns, labelSelector: "app.kubernetes.io/managed-by=pagoda" }),
        clients.core.listNamespacedService({ namespace: ns }),
        clients.networking.listNamespacedIngress({ namespace: ns }),
        clients.custom.listNamespacedCustomObject({ group: "pagoda.dev", version: "v1alpha1", plural: "staticsites", namespace: ns }),
      ]);
      const withStatus = (list as { items: StaticSite[] }).items.filter((s) => s.status?.observedGeneration === 1).length;
      if ([deps.items.length, cms.items.length, svcs.items.length, ings.items.length, withStatus].every((n) => n === sites)) break;
      await sleep(250);
    }
    await creating;
    const operatorMs = performance.now() - start;
    const converged = await scrape(port);
    const requests = parseMetric(converged, "pagoda_operator_api_requests_total") - requests0;
    const writes = parseMetric(converged, "pagoda_operator_api_writes_total") - writes0;
    const reconciles = parseMetric(converged, "pagoda_operator_reconciles_total");

    // Steady state means the world stopped changing: the controller manager
    // (slow under load) has created every ReplicaSet and Pod, and status
    // reflects it. Until then, status writes are legitimate news.
    console.log("waiting for the controller manager to settle ...");
    for (;;) {
      const deps = await clients.apps.listNamespacedDeployment({ namespace: ns });
      const settled = deps.items.every(
        (d) => (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) && d.status?.replicas === d.spec?.replicas,
      );
      const text = await scrape(port);
      if (settled && parseMetric(text, "pagoda_operator_queue_depth") === 0 && parseMetric(text, "pagoda_operator_queue_active") === 0) break;
      await sleep(1000);
    }
    // One more pass so every status has seen the settled state.
    await sleep(5000);
    const settledText = await scrape(port);

    console.log(`steady state: watching writes for ${steadySeconds} s (resync every ${resyncSeconds} s) ...`);
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
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, peakRssMb(pid));

    const result = {
      sites,
      concurrency,
      floorSeconds: +(floor.ms / 1000).toFixed(2),
      floorRequests: floor.requests,
      operatorSeconds: +(operatorMs / 1000).toFixed(2),
      staticSitesCreatedSeconds: +(createdMs / 1000).toFixed(2),
      ratio: +(operatorMs / floor.ms).toFixed(2),
      operatorRequests: requests,
      operatorWrites: writes,
      requestsPerSite: +(requests / sites).toFixed(2),
      writesPerSite: +(writes / sites).toFixed(2),
      reconciles,
      requestsPerReconcile: +(requests / reconciles).toFixed(2),
      operatorPeakRssMb: rssPeak,
      steadySeconds,
      steadyReconciles,
      steadyWrites,
      steadyWritesByKind: JSON.stringify(steadyWritesByKind),
      steadyEventReasons: JSON.stringify(steadyEventReasons),
    };
    console.log("\nresult");
    console.table(result);
    console.log(JSON.stringify(result));
  } finally {
    if (operator && operator.exitCode === null) {
      operator.kill("SIGTERM");
      await new Promise((r) => operator?.once("exit", r));
    }
    await cluster?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
