// NEEDS A REAL NODE (root): containerd runs the locally built nginx and
// busybox images, pods fetch real artifacts from a host HTTP server over the
// node's bridge, and Traefik routes the site's host to them. What the
// simulated node cannot show: a wrong digest fails in the pod's fetch, the
// old version keeps serving every request meanwhile, and the status says why.
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { EventsV1Api, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { FsArtifactStore } from "@/lib/artifacts/fs-store";
import type { Digest } from "@/lib/artifacts/digest";
import {
  ANNOTATION_DIGEST,
  CONDITION_DEGRADED,
  CONDITION_READY,
  findCondition,
  isDigestLive,
  LABEL_NAME,
  shortDigest,
  type StaticSite,
} from "@/lib/staticsite/types";
import { DEFAULT_UPLOAD_LIMITS, processUpload } from "@/lib/uploads";
import { buildZip } from "@/lib/uploads/test-support";
import { getWithHost } from "@/tests/support/host-get";
import { Clients, createSiteNamespace, TEST_BASE_DOMAIN, testOperatorConfig, waitFor } from "./int-test-support";
import { startOperator, type RunningOperator } from "./controller";

const SITE = "shop";

function indexHtml(version: string): string {
  return `<!doctype html><title>shop</title><h1 id="v">${version}</h1>\n`;
}

/**
 * Serves stored artifacts by digest, the bytes pods download; the product's
 * endpoint also checks a signature, which the operator never sees (it is
 * part of the URL). Listens on the node's bridge address so pods reach it.
 */
async function serveArtifacts(
  store: FsArtifactStore,
  address: string,
): Promise<{ urlOf(d: Digest): string; fetches(d: Digest): number; close(): Promise<void> }> {
  const fetches = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const hex = /^\/artifacts\/([a-f0-9]{64})\.tar\.gz$/.exec(req.url ?? "")?.[1];
    if (!hex) {
      res.writeHead(404).end();
      return;
    }
    const digest: Digest = `sha256:${hex}`;
    fetches.set(digest, (fetches.get(digest) ?? 0) + 1);
    res.writeHead(200, { "Content-Type": "application/gzip" });
    createReadStream(store.pathOf(digest))
      .on("error", () => res.destroy())
      .pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, address, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    urlOf: (d) => `http://${address}:${port}/artifacts/${d.slice("sha256:".length)}.tar.gz`,
    fetches: (d) => fetches.get(d) ?? 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Requests the site through the Ingress back to back until stopped, keeping
 * every answer that was not a 200 with one of the expected pages.
 */
function requestLoop(url: string, host: string, accept: () => readonly string[]) {
  let stopped = false;
  let requests = 0;
  const failures: string[] = [];
  const seen = new Set<string>();
  const done = (async () => {
    while (!stopped) {
      requests += 1;
      const res = await getWithHost(url, host).catch((err: Error) => ({ status: 0, body: err.message }));
      if (res.status !== 200 || !accept().includes(res.body)) failures.push(`${res.status} ${res.body.slice(0, 100)}`);
      else seen.add(res.body);
    }
  })();
  return {
    get requests() {
      return requests;
    },
    failures,
    seen,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

describe("rollouts on a real node", () => {
  let cluster: TestCluster;
  let clients: Clients;
  let operator: RunningOperator;
  let work: string;
  let artifacts: Awaited<ReturnType<typeof serveArtifacts>>;
  const built = new Map<string, Digest>();
  // Stopped in afterAll as well, so a failed assertion leaves no loop running.
  const loops: ReturnType<typeof requestLoop>[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster({ node: "node", timeoutSeconds: 300 });
    clients = Clients.fromFile(cluster.kubeconfigPath);

    // The artifacts are made the way an upload makes them: a zip through
    // the upload pipeline into the artifact store.
    work = await mkdtemp(path.join(os.tmpdir(), "pagoda-rollout-"));
    const store = new FsArtifactStore(path.join(work, "store"));
    for (const version of ["v1", "v2"]) {
      const zipPath = path.join(work, `${version}.zip`);
      await writeFile(zipPath, await buildZip([{ name: "dist/index.html", data: indexHtml(version) }]));
      built.set(version, (await processUpload(zipPath, DEFAULT_UPLOAD_LIMITS, store, { tmpDir: work })).digest);
    }

    // The node registers its bridge address, the one address of this host
    // that pods can reach (there is no default route out of the pod network).
    const [node] = (await clients.core.listNode()).items;
    const bridge = node?.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    if (!bridge) throw new Error("the node reports no InternalIP");
    artifacts = await serveArtifacts(store, bridge);

    operator = await startOperator(
      testOperatorConfig(cluster.kubeconfigPath, {
        nginxImage: "pagoda.local/nginx:1",
        fetchImage: "pagoda.local/busybox:1",
        imagePullPolicy: "IfNotPresent",
        // Traefik on the test node serves this class (its default).
        ingressClass: "traefik",
      }),
    );
  }, 600_000);

  afterAll(async () => {
    await Promise.all(loops.map((l) => l.stop()));
    await operator?.stop();
    await artifacts?.close();
    await cluster?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  }, 180_000);

  it("keeps the old version serving while a wrong digest fails, says why, then rolls out the fixed one", async () => {
    const v1 = built.get("v1")!;
    const v2 = built.get("v2")!;
    // Well-formed, and not the digest of the bytes at v2's URL.
    const wrong: Digest = `sha256:${randomBytes(32).toString("hex")}`;
    const ns = await createSiteNamespace(clients.kc, "real");
    const host = `${SITE}-${ns}.${TEST_BASE_DOMAIN}`;
    const site = () => clients.getSite(ns, SITE);
    const sitePods = async (digest: string): Promise<V1Pod[]> =>
      (await clients.core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_NAME}=${SITE}` })).items.filter(
        (p) => p.metadata?.annotations?.[ANNOTATION_DIGEST] === digest && !p.metadata.deletionTimestamp,
      );

    // v1 goes live and is what the Ingress host serves.
    await clients.applySite(ns, SITE, { artifact: { url: artifacts.urlOf(v1), digest: v1 }, hosts: [host] });
    await waitFor("v1 to be live", async () => (isDigestLive(await site(), v1) ? true : undefined), 180_000);
    const first = await waitFor(
      "the Ingress to serve v1",
      async () => {
        const res = await getWithHost(`${cluster.ingressUrl}/`, host);
        return res.status === 200 ? res : undefined;
      },
      60_000,
    );
    expect(first.body).toBe(indexHtml("v1"));
    expect(artifacts.fetches(v1)).toBeGreaterThanOrEqual(1);

    // A wrong digest: the new pod fetches v2's bytes, finds they do not
    // match, and fails; nobody may notice from outside.
    let accepted = [indexHtml("v1")];
    const loop = requestLoop(`${cluster.ingressUrl}/`, host, () => accepted);
    loops.push(loop);
    await clients.applySite(ns, SITE, { artifact: { url: artifacts.urlOf(v2), digest: wrong }, hosts: [host] });
    const degraded = await waitFor(
      "Degraded to be set for the wrong digest",
      async () => {
        const s = await site();
        const d = findCondition(s.status, CONDITION_DEGRADED);
        return s.status?.observedGeneration === 2 && d?.status === "True" ? s : undefined;
      },
      120_000,
    );
    const reason = findCondition(degraded.status, CONDITION_DEGRADED)!;
    expect(reason.reason).toBe("ArtifactFetchFailed");
    expect(reason.message).toContain(`artifact digest mismatch: expected ${wrong}, got ${v2}`);
    // The old version is still the one serving, and status says so.
    expect(degraded.status?.currentDigest).toBe(v1);
    const ready = findCondition(degraded.status, CONDITION_READY)!;
    expect(ready.status).toBe("False");
    expect(ready.message).toContain(`sha256:${shortDigest(v1)} keeps serving meanwhile`);

    // Hold the window open across the failing pod's retries: back-off
    // after a second failure, then another attempt, all while the loop runs.
    const initStatus = async () => (await sitePods(wrong))[0]?.status?.initContainerStatuses?.[0];
    await waitFor(
      "the wrong digest's pod to back off after failing again",
      async () => ((await initStatus())?.state?.waiting?.reason === "CrashLoopBackOff" ? true : undefined),
      120_000,
    );
    const backingOff = await waitFor("status to say the fetch is being retried", async () => {
      const s = await site();
      return findCondition(s.status, CONDITION_DEGRADED)?.message.includes("retrying with backoff") ? s : undefined;
    });
    expect(findCondition(backingOff.status, CONDITION_DEGRADED)?.message).toContain(`artifact digest mismatch: expected ${wrong}`);
    await waitFor("another attempt after the back-off", async () => (((await initStatus())?.restartCount ?? 0) >= 2 ? true : undefined), 120_000);
    await waitFor("the third download of the wrong digest's bytes", async () => (artifacts.fetches(v2) >= 3 ? true : undefined));
    const during = await site();
    expect(during.status?.currentDigest).toBe(v1);
    expect(findCondition(during.status, CONDITION_DEGRADED)?.status).toBe("True");
    expect((await sitePods(v1)).map((p) => p.status?.phase)).toEqual(["Running"]);
    expect(loop.requests).toBeGreaterThan(20);
    expect(loop.failures, `${loop.failures.length} of ${loop.requests} requests failed while the wrong digest was rolling out`).toEqual([]);

    const warnings = await waitFor("the ArtifactFetchFailed warning event", async () => {
      const events = await clients.kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
      const mine = events.items.filter((e) => e.regarding?.name === SITE && e.reason === "ArtifactFetchFailed");
      return mine.length > 0 ? mine : undefined;
    });
    expect(warnings[0]?.type).toBe("Warning");
    expect(warnings[0]?.note).toContain("artifact digest mismatch");

    // The fixed digest rolls out: v2 takes over without a failed request and
    // Degraded clears.
    accepted = [indexHtml("v1"), indexHtml("v2")];
    await clients.applySite(ns, SITE, { artifact: { url: artifacts.urlOf(v2), digest: v2 }, hosts: [host] });
    const live: StaticSite = await waitFor(
      "v2 to be live",
      async () => {
        const s = await site();
        return isDigestLive(s, v2) ? s : undefined;
      },
      180_000,
    );
    expect(findCondition(live.status, CONDITION_DEGRADED)).toMatchObject({ status: "False", reason: "AsExpected" });
    expect(findCondition(live.status, CONDITION_READY)?.reason).toBe("Available");
    // A replaced pod serves through its preStop window: wait until v2 is all there is.
    await waitFor(
      "only v2 to be served",
      async () => {
        for (let i = 0; i < 10; i++) if ((await getWithHost(`${cluster.ingressUrl}/`, host)).body !== indexHtml("v2")) return undefined;
        return true;
      },
      60_000,
    );
    await loop.stop();
    expect(loop.failures, `${loop.failures.length} of ${loop.requests} requests failed`).toEqual([]);
    expect([...loop.seen].sort()).toEqual([indexHtml("v1"), indexHtml("v2")]);
    expect(await sitePods(wrong)).toEqual([]);
  }, 600_000);
});
