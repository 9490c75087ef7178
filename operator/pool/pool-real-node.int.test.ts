// NEEDS A REAL NODE (root): the serving pool's image (the agent bundle on
// Node, with Debian nginx as its child) runs as 2 pods on containerd, the
// operator in this process pushes them the desired map, and Traefik routes
// every built-in host to them through the pool's wildcard Ingress. Artifacts
// come from a host HTTP server over the node's bridge; it stands for the
// dashboard's signed URLs, the one thing of the dashboard the pool needs.
// What only a real node shows: 200 sites each served by its own host, no
// failed request across redeploys, rollbacks, digest switches and a move
// between dedicated and shared, a pool that comes back from its node
// directory with the dashboard gone, a dedicated site's new pod started from
// the pool's mirror with the dashboard gone, and tampered bytes refused by
// digest.
import { chown, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Digest } from "@/lib/artifacts/digest";
import {
  CONDITION_DEGRADED,
  CONDITION_READY,
  findCondition,
  isDigestLive,
  LABEL_NAME,
  STATICSITE_GROUP,
  STATICSITE_PLURAL,
  STATICSITE_VERSION,
  type StaticSite,
} from "@/lib/staticsite/types";
import { startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { getWithHost } from "@/tests/support/host-get";
import { startOperator, type RunningOperator } from "../controller";
import { Clients, createSiteNamespace, TEST_BASE_DOMAIN, testOperatorConfig, waitFor } from "../int-test-support";
import { desiredPoolObjects, POOL_POD_SELECTOR } from "./objects";
import { MIRROR_PORT, mirrorPath } from "./protocol";
import { ArtifactServer, makeArtifact, requestLoop, type Artifact, type RequestLoop } from "./test-support";

const POOL_NAMESPACE = "pagoda-serving";
const REPLICAS = 2;
const SITES = 200;

const body = (site: string, version: string) => `<!doctype html><title>${site}</title><h1 id="v">${site} ${version}</h1>\n`;

describe("the shared serving pool on a real node", () => {
  let cluster: TestCluster;
  let clients: Clients;
  let operator: RunningOperator;
  let artifacts: ArtifactServer;
  let work: string;
  let storeDir: string;
  let mirrorUrl: string;
  let ns: string;
  const names = Array.from({ length: SITES }, (_, i) => `s${String(i).padStart(3, "0")}`);
  /** Each site's artifacts by version. */
  const built = new Map<string, Map<string, Artifact>>();
  /** The version each site's spec asks for now. */
  const wanted = new Map<string, string>();
  // Stopped in afterAll as well, so a failed assertion leaves no loop running.
  const loops: RequestLoop[] = [];

  const hostOf = (name: string) => `${name}-${ns}.${TEST_BASE_DOMAIN}`;
  const nameOf = (host: string) => host.slice(0, host.indexOf(`-${ns}.`));

  async function artifact(name: string, version: string): Promise<Artifact> {
    const versions = built.get(name) ?? new Map<string, Artifact>();
    built.set(name, versions);
    let a = versions.get(version);
    if (!a) {
      a = await makeArtifact({ "index.html": body(name, version), "assets/app.3f2a9c1b.js": `console.log(${JSON.stringify(`${name} ${version}`)});\n` });
      versions.set(version, a);
      artifacts.add(a);
    }
    return a;
  }

  async function deploy(name: string, version: string, serving: "shared" | "dedicated" = "shared"): Promise<void> {
    const a = await artifact(name, version);
    wanted.set(name, version);
    await clients.applySite(ns, name, { artifact: { url: artifacts.urlOf(a.digest), digest: a.digest }, hosts: [hostOf(name)], serving });
  }

  const site = (name: string) => clients.getSite(ns, name);

  /** Ready at its spec's digest on every pool replica: the status the issue promises for a shared site. */
  function sharedLive(s: StaticSite, digest: Digest): boolean {
    return isDigestLive(s, digest) && s.status?.readyReplicas === REPLICAS && s.status.replicas === REPLICAS;
  }

  async function listSites(): Promise<StaticSite[]> {
    const list = (await clients.custom.listNamespacedCustomObject({
      group: STATICSITE_GROUP,
      version: STATICSITE_VERSION,
      plural: STATICSITE_PLURAL,
      namespace: ns,
    })) as {
      items: StaticSite[];
    };
    return list.items;
  }

  /** Every site of `which` Live on the pool at the version it wants now. */
  async function allLive(which: readonly string[], what: string, timeoutMs = 180_000): Promise<void> {
    const set = new Set(which);
    await waitFor(
      what,
      async () => {
        const mine = (await listSites()).filter((s) => set.has(s.metadata.name));
        const live = mine.filter((s) => sharedLive(s, built.get(s.metadata.name)!.get(wanted.get(s.metadata.name)!)!.digest));
        return live.length === set.size ? true : undefined;
      },
      timeoutMs,
    );
  }

  /** The versions a site may answer with while it moves between them. */
  const accepted = new Map<string, string[]>();
  const accept = (host: string) => accepted.get(nameOf(host)) ?? [];

  async function poolPods() {
    return (await clients.core.listNamespacedPod({ namespace: POOL_NAMESPACE, labelSelector: POOL_POD_SELECTOR })).items;
  }

  beforeAll(async () => {
    cluster = await startTestCluster({ node: "node", poolImage: true, timeoutSeconds: 300 });
    clients = Clients.fromFile(cluster.kubeconfigPath);
    artifacts = await ArtifactServer.start(cluster.nodeAddress!);
    work = await mkdtemp(path.join(os.tmpdir(), "pagoda-pool-node-"));
    // The agents' verified tarballs outlive their pods on this node directory; the agent runs as uid 101.
    storeDir = path.join(work, "store");
    await mkdir(storeDir);
    await chown(storeDir, 101, 101);
    const config = testOperatorConfig(cluster.kubeconfigPath, {
      nginxImage: "pagoda.local/nginx:1",
      fetchImage: "pagoda.local/busybox:1",
      imagePullPolicy: "IfNotPresent",
      ingressClass: "traefik",
      defaultDomain: TEST_BASE_DOMAIN,
      pool: { image: cluster.poolImage!, namespace: POOL_NAMESPACE, replicas: REPLICAS, storeHostPath: storeDir, storeMaxBytes: undefined },
    });
    // This cluster has no DNS, so dedicated pods reach the mirror by the pool Service's address: the Service is
    // made here first, from the operator's own builders (the operator takes it over unchanged), for its ClusterIP.
    const poolObjects = desiredPoolObjects({ ...config, pool: config.pool! });
    await clients.core.createNamespace({ body: poolObjects.namespace });
    const service = await clients.core.createNamespacedService({ namespace: POOL_NAMESPACE, body: poolObjects.service });
    mirrorUrl = `http://${service.spec!.clusterIP!}:${MIRROR_PORT}`;
    operator = await startOperator({ ...config, pool: { ...config.pool!, mirrorUrl } });
    ns = await createSiteNamespace(clients.kc, "pool");

    // All 200 written at once, as a burst of deploys would be.
    await Promise.all(names.map((n) => deploy(n, "v1")));
    await allLive(names, `${SITES} shared sites to be Live on both replicas`, 300_000);
  }, 900_000);

  afterAll(async () => {
    await Promise.all(loops.map((l) => l.stop()));
    await operator?.stop();
    await artifacts?.close();
    await cluster?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  }, 180_000);

  it("serves each of 200 shared sites by its host, with 0 failed requests while 50 are redeployed and 20 of them rolled back", async () => {
    for (const n of names) {
      const res = await getWithHost(`${cluster.ingressUrl}/`, hostOf(n));
      expect(`${res.status} ${res.body}`).toBe(`200 ${body(n, "v1")}`);
    }
    const unknown = await getWithHost(`${cluster.ingressUrl}/`, `nobody-${ns}.${TEST_BASE_DOMAIN}`);
    expect(unknown.status).toBe(404);

    for (const n of names) accepted.set(n, [body(n, "v1")]);
    const redeployed = names.slice(0, 50);
    const rolledBack = redeployed.slice(0, 20);
    for (const n of redeployed) accepted.set(n, [body(n, "v1"), body(n, "v2")]);
    const loop = requestLoop(`${cluster.ingressUrl}/`, names.map(hostOf), accept, 4);
    loops.push(loop);

    await Promise.all(redeployed.map((n) => deploy(n, "v2")));
    await allLive(redeployed, "50 redeployed sites to be Live at v2");
    // Rolled back: the spec's digest set back to the one before.
    await Promise.all(rolledBack.map((n) => deploy(n, "v1")));
    await allLive(rolledBack, "20 rolled-back sites to be Live at v1 again");
    // Every host answered at least once more after the last change.
    const after = loop.requests;
    await waitFor("the loop to go round all hosts again", async () => (loop.requests > after + SITES ? true : undefined), 60_000);
    await loop.stop();

    expect(loop.failures, `${loop.failures.length} of ${loop.requests} requests failed`).toEqual([]);
    expect(loop.requests).toBeGreaterThan(2 * SITES);
    for (const n of names) {
      const res = await getWithHost(`${cluster.ingressUrl}/`, hostOf(n));
      expect(`${res.status} ${res.body}`).toBe(`200 ${body(n, wanted.get(n)!)}`);
    }
    const sites = await listSites();
    expect(sites.filter((s) => findCondition(s.status, CONDITION_DEGRADED)?.status !== "False").map((s) => s.metadata.name)).toEqual([]);
  }, 600_000);

  it("answers every request on a hammered host with the old or the new page across 100 digest switches", async () => {
    const n = names[SITES - 1]!;
    accepted.set(n, [body(n, "v1"), body(n, "v2")]);
    const loop = requestLoop(`${cluster.ingressUrl}/`, [hostOf(n)], accept, 4);
    loops.push(loop);
    const counts: number[] = [];
    for (let i = 0; i < 100; i++) {
      const version = i % 2 === 0 ? "v2" : "v1";
      await deploy(n, version);
      const digest = (await artifact(n, version)).digest;
      await waitFor(`switch ${i + 1} to ${version}`, async () => (sharedLive(await site(n), digest) ? true : undefined), 60_000);
      counts.push(loop.requests);
    }
    await loop.stop();
    expect(loop.failures, `${loop.failures.length} of ${loop.requests} requests failed`).toEqual([]);
    expect([...(loop.seen.get(hostOf(n)) ?? [])].sort()).toEqual([body(n, "v1"), body(n, "v2")]);
    // The loop really ran across the switches, not only around them.
    expect(counts.filter((c, i) => i > 0 && c > counts[i - 1]!).length).toBeGreaterThan(50);
  }, 600_000);

  it("serves every site again from the node's store when every pool pod is deleted while the artifact server is down", async () => {
    await artifacts.close();
    try {
      const before = (await poolPods()).map((p) => p.metadata!.uid!);
      expect(before).toHaveLength(REPLICAS);
      await clients.core.deleteCollectionNamespacedPod({ namespace: POOL_NAMESPACE, labelSelector: POOL_POD_SELECTOR, gracePeriodSeconds: 0 });
      await waitFor(
        "two new pool pods to be Ready",
        async () => {
          const pods = (await poolPods()).filter((p) => !before.includes(p.metadata!.uid!) && !p.metadata?.deletionTimestamp);
          const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
          return ready.length === REPLICAS ? true : undefined;
        },
        180_000,
      );
      await allLive(names, "every site Live on the new replicas", 180_000);
      for (const n of names) {
        const res = await getWithHost(`${cluster.ingressUrl}/`, hostOf(n));
        expect(`${res.status} ${res.body}`).toBe(`200 ${body(n, wanted.get(n)!)}`);
      }
      expect(artifacts.running).toBe(false);
    } finally {
      await artifacts.listen();
    }
  }, 600_000);

  it("starts a dedicated site's new pod from the pool's mirror while the artifact server is down", async () => {
    const name = "mirrored";
    await deploy(name, "v1", "dedicated");
    const digest = (await artifact(name, "v1")).digest;
    await waitFor("the dedicated site to be Live", async () => (isDigestLive(await site(name), digest) ? true : undefined), 180_000);
    // Every replica holds it (the Service sends a pod to either), fetched in the background after the map.
    await waitFor(
      "each pool replica to mirror the site's deploy",
      async () => {
        const pods = await poolPods();
        const answers = await Promise.all(
          pods.map((p) =>
            fetch(`http://${p.status?.podIP}:${MIRROR_PORT}${mirrorPath(digest)}`, { method: "HEAD" }).then(
              (r) => r.status,
              () => 0,
            ),
          ),
        );
        return answers.length === REPLICAS && answers.every((a) => a === 200) ? true : undefined;
      },
      120_000,
    );
    const ownPods = async () =>
      (await clients.core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_NAME}=${name}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
    await artifacts.close();
    try {
      const before = (await ownPods()).map((p) => p.metadata!.uid!);
      expect(before.length).toBeGreaterThan(0);
      // What a node drain does to the site: its pods go, and new ones must start without the dashboard.
      await clients.core.deleteCollectionNamespacedPod({ namespace: ns, labelSelector: `${LABEL_NAME}=${name}`, gracePeriodSeconds: 0 });
      const fresh = await waitFor(
        "a new pod of the site to be Ready",
        async () =>
          (await ownPods()).find((p) => !before.includes(p.metadata!.uid!) && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")),
        180_000,
      );
      const fetchLog = await clients.core.readNamespacedPodLog({ namespace: ns, name: fresh.metadata!.name!, container: "fetch" });
      expect(fetchLog).toContain("from the pool's mirror");
      const res = await waitFor(
        "the new pod to serve through the Ingress",
        async () => {
          const r = await getWithHost(`${cluster.ingressUrl}/`, hostOf(name));
          return r.status === 200 ? r : undefined;
        },
        60_000,
      );
      expect(res.body).toBe(body(name, "v1"));
      expect(artifacts.running).toBe(false);
    } finally {
      await artifacts.listen();
    }
  }, 600_000);

  /** The file the agents keep for `digest` on the node directory. */
  async function storedTarball(digest: Digest): Promise<string | undefined> {
    const hex = digest.slice("sha256:".length);
    const walk = async (dir: string): Promise<string | undefined> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          const found = await walk(p);
          if (found) return found;
        } else if (entry.name.startsWith(hex) && /\.(tgz|tar\.gz)$/.test(entry.name)) return p;
      }
      return undefined;
    };
    return walk(storeDir);
  }

  async function degradedWith(name: string, reason: string): Promise<StaticSite> {
    return waitFor(
      `${name} to be Degraded with ${reason}`,
      async () => {
        const s = await site(name);
        return s.status?.observedGeneration === s.metadata.generation && findCondition(s.status, CONDITION_DEGRADED)?.reason === reason ? s : undefined;
      },
      120_000,
    );
  }

  it("refuses by digest a download whose bytes are not the artifact: Degraded ArtifactInvalid, the old version serving, nothing stored", async () => {
    const n = names[100]!;
    const v1 = (await artifact(n, "v1")).digest;
    const v3 = await artifact(n, "v3");
    // Another site's valid artifact at this URL: a well-formed tarball, just not these bytes.
    artifacts.substitute(v3.digest, (await artifact(names[101]!, "v1")).bytes);
    await deploy(n, "v3");
    const s = await degradedWith(n, "ArtifactInvalid");
    expect(findCondition(s.status, CONDITION_DEGRADED)?.message).toMatch(/digest/i);
    expect(findCondition(s.status, CONDITION_READY)?.status).toBe("False");
    expect(s.status?.currentDigest).toBe(v1);
    expect(artifacts.fetches(v3.digest)).toBeGreaterThanOrEqual(1);
    const res = await getWithHost(`${cluster.ingressUrl}/`, hostOf(n));
    expect(`${res.status} ${res.body}`).toBe(`200 ${body(n, "v1")}`);
    expect(await storedTarball(v3.digest)).toBeUndefined();
    // Rolled back to what serves, the site is Ready again.
    await deploy(n, "v1");
    await waitFor(`${n} to be Live at v1 again`, async () => (sharedLive(await site(n), v1) ? true : undefined), 60_000);
  }, 300_000);

  it("refuses by digest a tarball rewritten on the node directory: fetched again when the URL is good, Degraded when it is not", async () => {
    // Both were redeployed to v2 and rolled back to v1 in the first test, so
    // the store holds their v2 tarballs, and the replicas (new since the
    // restart) have not unpacked v2.
    const [healed, refused] = [names[0]!, names[1]!];
    for (const n of [healed, refused]) {
      const v2 = (await artifact(n, "v2")).digest;
      const file = await storedTarball(v2);
      expect(file, `the store should hold ${n}'s v2`).toBeDefined();
      // Valid gzip, a valid site even, only not the bytes of v2: v1's.
      await writeFile(file!, (await artifact(n, "v1")).bytes);
      await chown(file!, 101, 101);
    }

    // The URL is good: the copy in the store is refused and downloaded again.
    const healedV2 = (await artifact(healed, "v2")).digest;
    const fetchesBefore = artifacts.fetches(healedV2);
    await deploy(healed, "v2");
    await waitFor(`${healed} to be Live at v2`, async () => (sharedLive(await site(healed), healedV2) ? true : undefined), 60_000);
    const res = await getWithHost(`${cluster.ingressUrl}/`, hostOf(healed));
    expect(`${res.status} ${res.body}`).toBe(`200 ${body(healed, "v2")}`);
    expect(artifacts.fetches(healedV2)).toBeGreaterThan(fetchesBefore);

    // The URL does not have the bytes either: the old version keeps serving and status says why.
    const refusedV1 = (await artifact(refused, "v1")).digest;
    const refusedV2 = (await artifact(refused, "v2")).digest;
    artifacts.substitute(refusedV2, (await artifact(refused, "v1")).bytes);
    await deploy(refused, "v2");
    const s = await degradedWith(refused, "ArtifactInvalid");
    expect(s.status?.currentDigest).toBe(refusedV1);
    const still = await getWithHost(`${cluster.ingressUrl}/`, hostOf(refused));
    expect(`${still.status} ${still.body}`).toBe(`200 ${body(refused, "v1")}`);
    expect(await storedTarball(refusedV2)).toBeUndefined();
    await deploy(refused, "v1");
    await waitFor(`${refused} to be Live at v1 again`, async () => (sharedLive(await site(refused), refusedV1) ? true : undefined), 60_000);
  }, 300_000);

  it("keeps a dedicated and a shared site side by side, and moves one from dedicated to shared and back with 0 failed requests", async () => {
    const [dedicated, shared] = ["dedicated", "beside"];
    await deploy(dedicated, "v1", "dedicated");
    await deploy(shared, "v1", "shared");
    const dv1 = (await artifact(dedicated, "v1")).digest;
    await waitFor("the dedicated site to be Live", async () => (isDigestLive(await site(dedicated), dv1) ? true : undefined), 180_000);
    await allLive([shared], "the shared site beside it to be Live");
    const ownPods = async () =>
      (await clients.core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_NAME}=${dedicated}` })).items.filter(
        (p) => !p.metadata?.deletionTimestamp,
      );
    expect((await ownPods()).length).toBeGreaterThan(0);
    await waitFor(
      "Traefik to route both hosts",
      async () => {
        const [a, b] = await Promise.all([getWithHost(`${cluster.ingressUrl}/`, hostOf(dedicated)), getWithHost(`${cluster.ingressUrl}/`, hostOf(shared))]);
        return a.body === body(dedicated, "v1") && b.body === body(shared, "v1") ? true : undefined;
      },
      60_000,
    );

    accepted.set(dedicated, [body(dedicated, "v1")]);
    accepted.set(shared, [body(shared, "v1")]);
    const loop = requestLoop(`${cluster.ingressUrl}/`, [hostOf(dedicated), hostOf(shared)], accept, 2);
    loops.push(loop);

    await deploy(dedicated, "v1", "shared");
    await allLive([dedicated], "the site to be Live on the pool");
    await waitFor("its own pods to be gone", async () => ((await ownPods()).length === 0 ? true : undefined), 120_000);
    const onPool = loop.requests;
    await waitFor("requests while it is on the pool", async () => (loop.requests > onPool + 50 ? true : undefined), 60_000);
    const failedMovingIn = loop.failures.length;

    await deploy(dedicated, "v1", "dedicated");
    await waitFor(
      "the site to be Live on pods of its own again",
      async () => {
        const s = await site(dedicated);
        return isDigestLive(s, dv1) && (await ownPods()).some((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
          ? true
          : undefined;
      },
      180_000,
    );
    const back = loop.requests;
    await waitFor("requests after it is back", async () => (loop.requests > back + 50 ? true : undefined), 60_000);
    await loop.stop();
    expect(
      loop.failures,
      `${loop.failures.length} of ${loop.requests} requests failed: ${failedMovingIn} moving to the pool, ${loop.failures.length - failedMovingIn} moving back`,
    ).toEqual([]);
    const ingressesOf = async (n: string) =>
      (await clients.networking.listNamespacedIngress({ namespace: ns, labelSelector: `${LABEL_NAME}=${n}` })).items.length;
    expect(await ingressesOf(dedicated)).toBeGreaterThan(0);
    expect(await ingressesOf(shared)).toBe(0);
  }, 600_000);
});
