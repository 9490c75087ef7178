// The dashboard against a real API server reached through a TCP relay that
// can freeze: the server then takes no bytes and answers nothing, as when a
// connection hangs. A publish or a delete must give up at the dashboard's
// request deadline with a timeout error, and a delete through the cluster
// layer must become the "cluster unavailable" answer routes give (503),
// instead of holding the request for good.
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unpublishSite } from "@/lib/publishing/publish";
import { ClusterUnavailableError } from "@/lib/errors";
import { pooledKubeConfig, type PooledKubeConfig } from "@/lib/kube/connection";
import { KubeApiError } from "@/lib/kube/request";
import { sharedCluster } from "@/tests/support/cluster";
import { freezableRelay } from "@/tests/support/tcp-relay";
import { dashboardKubeConfig } from "./connection";
import { desiredSite, digestOf, randomSuffix, readStaticSite } from "./int-test-support";
import { setDashboardRequestTimeoutMs } from "./request-timeout";
import { deleteStaticSite, ensureTenantNamespace, publishSite } from "./static-sites";

const TIMEOUT_MS = 1_000;

async function settle<T>(p: Promise<T>): Promise<{ err: unknown; tookMs: number }> {
  const started = performance.now();
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { err, tookMs: performance.now() - started };
}

describe("dashboard requests to an API server that stops answering", () => {
  let relay: Awaited<ReturnType<typeof freezableRelay>>;
  let pool: PooledKubeConfig;
  let kc: KubeConfig;
  let dir: string;
  // State is checked directly, not through the relay: a thaw cuts the connections it carried.
  let admin: KubeConfig;
  const tenant = `deadline-${randomSuffix()}`;

  beforeAll(async () => {
    setDashboardRequestTimeoutMs(TIMEOUT_MS);
    const shared = sharedCluster();
    admin = shared.kc;
    const cluster = shared.kc.getCurrentCluster();
    const user = shared.kc.getCurrentUser();
    if (!cluster || !user) throw new Error("the shared kubeconfig has no cluster or user");
    const server = new URL(cluster.server);
    relay = await freezableRelay({ host: server.hostname, port: Number(server.port) });
    const direct = new KubeConfig();
    direct.loadFromOptions({
      clusters: [{ ...cluster, server: `https://${server.hostname}:${relay.port}` }],
      users: [user],
      contexts: [{ name: "relay", cluster: cluster.name, user: user.name }],
      currentContext: "relay",
    });
    // Pooled as the dashboard's own connection is, so that a frozen request
    // rides a connection that is already open (no connect timeout to end it).
    pool = pooledKubeConfig(direct);
    kc = pool.kc;
    // The cluster layer finds its cluster through KUBECONFIG, as the dashboard does.
    dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-deadline-"));
    const file = path.join(dir, "kubeconfig");
    await writeFile(file, kc.exportConfig());
    process.env.KUBECONFIG = file;
    // Thawed, the same path really writes.
    await ensureTenantNamespace(kc, tenant);
    await publishSite(kc, desiredSite(tenant, "blog"));
  });

  afterAll(async () => {
    await relay?.close();
    await pool?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("gives up on a publish and a delete at the deadline, saying so", { timeout: 30_000 }, async () => {
    relay.freeze();
    try {
      const publish = await settle(publishSite(kc, desiredSite(tenant, "blog", { artifact: { url: "http://127.0.0.1:9/b", digest: digestOf("b") } })));
      const remove = await settle(deleteStaticSite(kc, tenant, "blog"));
      for (const { err, tookMs } of [publish, remove]) {
        expect(err).toBeInstanceOf(KubeApiError);
        expect((err as KubeApiError).timedOut).toBe(true);
        expect((err as Error).message).toMatch(/request timed out: no answer from the API server within 1 s$/);
        expect(tookMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
        expect(tookMs).toBeLessThan(TIMEOUT_MS + 5_000);
      }
      expect((remove.err as Error).message).toMatch(/^deleting StaticSite pagoda-deadline-/);
      // The requests were sent and swallowed by the frozen relay, not refused.
      expect(relay.bytesWhileFrozen()).toBeGreaterThan(0);
    } finally {
      relay.thaw();
    }
    // Nothing was changed: the site is still there, at its first artifact.
    expect((await readStaticSite(admin, tenant, "blog"))?.spec.artifact.digest).toBe(desiredSite(tenant, "blog").artifact.digest);
  });

  it("answers a delete with cluster unavailable (503) while the server hangs", { timeout: 30_000 }, async () => {
    relay.thaw();
    // Opens the dashboard's own connection before the freeze.
    expect(await readStaticSite(dashboardKubeConfig(), tenant, "blog")).not.toBeNull();
    relay.freeze();
    let result: { err: unknown; tookMs: number };
    try {
      result = await settle(unpublishSite(tenant, "blog"));
    } finally {
      relay.thaw();
    }
    expect(result.err).toBeInstanceOf(ClusterUnavailableError);
    expect(result.err).toMatchObject({ code: "cluster_unavailable" });
    expect(result.tookMs).toBeLessThan(TIMEOUT_MS + 5_000);
    expect(await readStaticSite(admin, tenant, "blog")).not.toBeNull();
  });
});
