// What each way of writing costs the API server: `npm run bench:api-verbs -- [--count 200] [--rounds 3]`.
//
// On a throw-away control plane it writes the operator's own objects (the
// children of a site, a StaticSite, a status) `count` times per variant and
// reports, per request, the CPU time the API server and etcd spent and the
// wall time at the operator's concurrency of 4:
//   children and StaticSites: create (POST) against server-side apply of a
//                             new object, the verb the operator must use;
//   status:                   server-side apply (the operator's way) against
//                             a JSON merge patch.
// Variants alternate within each round and the median round is shown. The
// controller manager and scheduler are stopped (SIGSTOP) while a variant is
// measured, so that their work on the new objects (ReplicaSets for Deployments,
// EndpointSlices for Services, Events) is not counted against whichever
// variant it happens to fall in. Children are written both without owner
// references and, as the operator writes them, owned by a StaticSite. On a two-core
// machine every phase of bench:operator keeps both cores busy, so these
// costs, not latency, decide its times.
import { parseArgs } from "node:util";
import { KubeConfig, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from "@kubernetes/client-node";
import { clusterProcesses, createTestNamespace, startTestCluster } from "@/local-cluster/testing";
import { pooledKubeConfig } from "@/lib/kube/connection";
import {
  FIELD_MANAGER_OPERATOR,
  STATICSITE_API_VERSION,
  STATICSITE_GROUP,
  STATICSITE_KIND,
  STATICSITE_PLURAL,
  STATICSITE_VERSION,
  type StaticSite,
  type StaticSiteStatus,
} from "@/lib/staticsite/types";
import { desiredChildren } from "@/operator/children";
import { Clients, siteSpec } from "@/operator/int-test-support";
import { KubeApi } from "@/operator/kube-api";
import { createMetrics } from "@/operator/metrics";
import { benchChildConfig, cpuSeconds, pool, processName } from "./support";

const { values: args } = parseArgs({
  options: {
    count: { type: "string", default: "200" },
    rounds: { type: "string", default: "3" },
  },
});
const count = Number(args.count);
const rounds = Number(args.rounds);
for (const [name, v] of Object.entries({ count, rounds })) {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
}
const CONCURRENCY = 4;

const names = Array.from({ length: count }, (_, i) => `site-${String(i).padStart(4, "0")}`);

interface Cost {
  apiMs: number;
  etcdMs: number;
  wallMs: number;
}

function site(namespace: string, name: string): StaticSite {
  return {
    apiVersion: STATICSITE_API_VERSION,
    kind: STATICSITE_KIND,
    metadata: { name, namespace, uid: "00000000-0000-0000-0000-000000000000" },
    spec: siteSpec({ hosts: [`${name}.example.com`] }),
  };
}

type ChildKind = "configMap" | "service" | "deployment" | "ingress";

/** The operator's child; owned by `owner` when given, else without owner references. */
function child(namespace: string, name: string, kind: ChildKind, owner?: StaticSite): KubernetesObject {
  const obj = desiredChildren(owner ?? site(namespace, name), benchChildConfig)[kind] as KubernetesObject;
  return owner ? obj : { ...obj, metadata: { ...obj.metadata, ownerReferences: undefined } };
}

function status(generation: number): StaticSiteStatus {
  const reason = generation % 2 ? "Creating" : "RollingOut";
  return {
    observedGeneration: generation,
    conditions: [
      {
        type: "Ready",
        status: "False",
        observedGeneration: generation,
        lastTransitionTime: "2026-05-01T10:00:00Z",
        reason,
        message: `waiting (${generation})`,
      },
      { type: "Progressing", status: "True", observedGeneration: generation, lastTransitionTime: "2026-05-01T10:00:00Z", reason, message: "rolling out" },
      { type: "Degraded", status: "False", observedGeneration: generation, lastTransitionTime: "2026-05-01T10:00:00Z", reason: "AsExpected", message: "" },
    ],
    replicas: generation % 2,
    readyReplicas: 0,
    url: "https://example.com",
  };
}

async function main(): Promise<void> {
  console.log("starting a throw-away control plane ...");
  const cluster = await startTestCluster();
  const fromFile = new KubeConfig();
  fromFile.loadFromFile(cluster.kubeconfigPath);
  const connection = pooledKubeConfig(fromFile);
  const controllerPids: number[] = [];
  try {
    const kc = connection.kc;
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const clients = new Clients(kc);
    const pids = new Map<string, number>();
    for (const pid of clusterProcesses(cluster.stateDir)) {
      const exe = processName(pid);
      if (exe === "kube-apiserver" || exe === "etcd") pids.set(exe, pid);
      if (exe === "kube-controller-manager" || exe === "kube-scheduler") controllerPids.push(pid);
    }
    const apiPid = pids.get("kube-apiserver");
    const etcdPid = pids.get("etcd");
    if (!apiPid || !etcdPid) throw new Error("could not find the API server and etcd processes");

    async function measure(fn: (name: string) => Promise<unknown>): Promise<Cost> {
      const api0 = cpuSeconds(apiPid as number);
      const etcd0 = cpuSeconds(etcdPid as number);
      const start = performance.now();
      for (const pid of controllerPids) process.kill(pid, "SIGSTOP");
      try {
        await pool(names, CONCURRENCY, fn);
      } finally {
        for (const pid of controllerPids) process.kill(pid, "SIGCONT");
      }
      return {
        wallMs: (performance.now() - start) / count,
        apiMs: ((cpuSeconds(apiPid as number) - api0) * 1000) / count,
        etcdMs: ((cpuSeconds(etcdPid as number) - etcd0) * 1000) / count,
      };
    }

    const group = { group: STATICSITE_GROUP, version: STATICSITE_VERSION, plural: STATICSITE_PLURAL };
    // Applies go through the operator's own client, exactly as it sends them.
    const operatorApi = new KubeApi(kc, createMetrics());
    const results = new Map<string, Cost[]>();
    const record = (label: string, cost: Cost) => results.set(label, [...(results.get(label) ?? []), cost]);

    for (let round = 1; round <= rounds; round++) {
      console.log(`round ${round} of ${rounds} ...`);
      // Owners for the owned children, made before anything is measured.
      const ownedNs = await createTestNamespace(kc, "verbs-owned");
      const owners = new Map<string, StaticSite>();
      await pool(names, CONCURRENCY, async (name) => owners.set(name, await clients.applySite(ownedNs, name, site(ownedNs, name).spec)));
      for (const kind of ["configMap", "service", "deployment", "ingress"] as const) {
        const createNs = await createTestNamespace(kc, "verbs-create");
        const applyNs = await createTestNamespace(kc, "verbs-apply");
        record(`${kind}: create`, await measure((name) => objects.create(child(createNs, name, kind))));
        record(`${kind}: apply (new object)`, await measure((name) => operatorApi.apply(child(applyNs, name, kind))));
        record(`${kind}: apply, owned by a StaticSite`, await measure((name) => operatorApi.apply(child(ownedNs, name, kind, owners.get(name)))));
      }
      const sitesNs = await createTestNamespace(kc, "verbs-sites");
      const appliedNs = await createTestNamespace(kc, "verbs-sites-applied");
      const body = (ns: string, name: string) => ({
        apiVersion: STATICSITE_API_VERSION,
        kind: STATICSITE_KIND,
        metadata: { name, namespace: ns },
        spec: site(ns, name).spec,
      });
      record(
        "StaticSite: create",
        await measure((name) => clients.custom.createNamespacedCustomObject({ ...group, namespace: sitesNs, body: body(sitesNs, name) })),
      );
      // As the dashboard writes it (and bench:operator does).
      record("StaticSite: apply (new object)", await measure((name) => clients.applySite(appliedNs, name, site(appliedNs, name).spec)));
      // Every status write changes something (the generation alternates), as the operator's do.
      for (const generation of [1, 2]) {
        record("status: apply", await measure((name) => operatorApi.applyStatus(site(sitesNs, name), status(generation))));
        record(
          "status: merge patch",
          await measure((name) =>
            clients.custom.patchNamespacedCustomObjectStatus(
              { ...group, namespace: appliedNs, name, body: { status: status(generation) }, fieldManager: FIELD_MANAGER_OPERATOR },
              setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
            ),
          ),
        );
      }
    }

    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const rows = [...results].map(([label, costs]) => ({
      write: label,
      "API server CPU ms": +median(costs.map((c) => c.apiMs)).toFixed(2),
      "etcd CPU ms": +median(costs.map((c) => c.etcdMs)).toFixed(2),
      "wall ms (4 in flight)": +median(costs.map((c) => c.wallMs)).toFixed(2),
    }));
    console.log(`\nper request, median of ${rounds} rounds of ${count}`);
    console.table(rows);
    console.log(JSON.stringify(rows));
  } finally {
    await connection.close();
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
