// NEEDS A NODE: the pool on a cluster with a simulated node (kwok), whose
// pods report Running and Ready without running anything. So the pool's
// objects are real and its pods "run", but no agent answers in them: the
// operator must say the pool is unavailable rather than believe the pods,
// and must keep a switching site's own children. The agent's real serving
// is the real-node test's.
import net from "node:net";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { CONDITION_DEGRADED, CONDITION_PROGRESSING, CONDITION_READY, findCondition, isDigestLive, type StaticSite } from "@/lib/staticsite/types";
import type { OperatorConfig } from "../config";
import { startOperator, type RunningOperator } from "../controller";
import { Clients, createSiteNamespace, digestOf, httpCode, siteSpec, testOperatorConfig, waitFor } from "../int-test-support";
import { counterTotal } from "../metrics";
import { POOL_NAME, POOL_TOKEN_KEY, POOL_TOKEN_SECRET } from "./objects";

/** A loopback port nothing listens on: the simulated pods' addresses lead nowhere, and this says so at once. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("the shared pool on a (simulated) node", () => {
  let cluster: TestCluster;
  let clients: Clients;
  let kc: KubeConfig;
  let config: OperatorConfig;
  let operator: RunningOperator | undefined;
  let agentUrl: string;
  const poolNamespace = `pagoda-serving-${randomBytes(3).toString("hex")}`;

  beforeAll(async () => {
    cluster = await startTestCluster({ node: "kwok" });
    clients = Clients.fromFile(cluster.kubeconfigPath);
    kc = clients.kc;
    agentUrl = `http://127.0.0.1:${await closedPort()}`;
    config = testOperatorConfig(cluster.kubeconfigPath, {
      pool: { image: "pagoda.local/pool:kwok", namespace: poolNamespace, replicas: 2, storeHostPath: undefined, storeMaxBytes: undefined },
    });
    operator = await startOperator(config, { poolAgentUrl: () => agentUrl });
    await waitFor("the operator to lead", async () => (operator!.isLeader() ? true : undefined));
  });

  afterAll(async () => {
    await operator?.stop();
    await cluster?.stop();
  });

  async function condition(ns: string, name: string, type: string): Promise<{ status: string; reason: string } | undefined> {
    const site = await clients.getSite(ns, name);
    return findCondition(site.status, type as typeof CONDITION_READY);
  }

  async function absent(read: () => Promise<unknown>): Promise<boolean> {
    try {
      await read();
      return false;
    } catch (err) {
      if (httpCode(err) === 404) return true;
      throw err;
    }
  }

  it("makes the pool's objects, restricted and with the token only in its Secret", async () => {
    const ns = await waitFor("the pool namespace", async () => {
      try {
        return await clients.core.readNamespace({ name: poolNamespace });
      } catch {
        return undefined;
      }
    });
    expect(ns.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const dep = await waitFor(
      "the pool Deployment to be available",
      async () => {
        const d = await clients.apps.readNamespacedDeployment({ name: POOL_NAME, namespace: poolNamespace }).catch(() => undefined);
        return d?.status?.availableReplicas === 2 ? d : undefined;
      },
      60_000,
    );
    const secret = await clients.core.readNamespacedSecret({ name: POOL_TOKEN_SECRET, namespace: poolNamespace });
    const token = Buffer.from(secret.data![POOL_TOKEN_KEY]!, "base64").toString("utf8");
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(JSON.stringify(dep.spec)).not.toContain(token);
    const ingress = await clients.networking.readNamespacedIngress({ name: POOL_NAME, namespace: poolNamespace });
    expect(ingress.metadata?.annotations?.["traefik.ingress.kubernetes.io/router.priority"]).toBe("1");
    expect(ingress.spec?.rules?.[0]?.host).toBe(`*.${config.baseDomain}`);
    expect(ingress.spec?.ingressClassName).toBe(config.ingressClass);
    expect((await clients.policy.readNamespacedPodDisruptionBudget({ name: POOL_NAME, namespace: poolNamespace })).spec?.minAvailable).toBe(1);
    expect((await clients.core.readNamespacedService({ name: POOL_NAME, namespace: poolNamespace })).spec?.ports?.[0]?.port).toBe(80);
    // Its pods run (as far as the simulated node says), and the operator tries to talk to each.
    await waitFor("both pool pods known", async () => ((await operator!.metrics.poolReplicasKnown.get()).values[0]?.value === 2 ? true : undefined), 60_000);
    expect((await operator!.metrics.poolReplicasReady.get()).values[0]?.value).toBe(0);
  });

  it("gives a shared site no children, and says the pool is unavailable while no agent answers", async () => {
    const ns = await createSiteNamespace(kc, "shared");
    await clients.applySite(ns, "web", siteSpec({ serving: "shared" }));
    const site = await waitFor("the shared site's status", async () => {
      const s = await clients.getSite(ns, "web");
      return findCondition(s.status, CONDITION_READY)?.reason === "PoolUnavailable" ? s : undefined;
    });
    expect(findCondition(site.status, CONDITION_READY)?.status).toBe("False");
    expect(findCondition(site.status, CONDITION_PROGRESSING)).toMatchObject({ status: "True", reason: "PoolUnavailable" });
    expect(findCondition(site.status, CONDITION_DEGRADED)).toMatchObject({ status: "True", reason: "PoolUnavailable" });
    expect(site.status).toMatchObject({ replicas: 0, readyReplicas: 0 });
    expect(site.status?.currentDigest).toBeUndefined();
    await operator!.idle();
    expect(await absent(() => clients.apps.readNamespacedDeployment({ name: "web", namespace: ns }))).toBe(true);
    expect(await absent(() => clients.core.readNamespacedService({ name: "web", namespace: ns }))).toBe(true);
    expect(await absent(() => clients.core.readNamespacedConfigMap({ name: "web-nginx", namespace: ns }))).toBe(true);
    expect(await absent(() => clients.networking.readNamespacedIngress({ name: "web", namespace: ns }))).toBe(true);
  });

  it("keeps a dedicated site's children while it switches to shared and no replica serves it", async () => {
    const ns = await createSiteNamespace(kc, "switch");
    const spec = siteSpec();
    await clients.applySite(ns, "blog", spec);
    await waitFor("the dedicated site to be live", async () => (isDigestLive(await clients.getSite(ns, "blog"), digestOf("a")) ? true : undefined), 90_000);
    await clients.applySite(ns, "blog", { ...spec, serving: "shared" });
    await waitFor("the switched site to wait for the pool", async () => {
      const s = await clients.getSite(ns, "blog");
      return s.status?.observedGeneration === 2 && findCondition(s.status, CONDITION_READY)?.reason === "PoolUnavailable" ? true : undefined;
    });
    expect(await condition(ns, "blog", CONDITION_PROGRESSING)).toMatchObject({ status: "True", reason: "PoolUnavailable" });
    await operator!.idle();
    // Its own pods and Ingress still serve it: nothing was taken away.
    const dep = await clients.apps.readNamespacedDeployment({ name: "blog", namespace: ns });
    expect(dep.status?.availableReplicas).toBe(1);
    const ingress = await clients.networking.readNamespacedIngress({ name: "blog", namespace: ns });
    expect(ingress.spec?.rules?.map((r) => r.host)).toEqual(spec.hosts);
    expect(await absent(() => clients.core.readNamespacedService({ name: "blog", namespace: ns }))).toBe(false);
  });

  it("converges with no write at all when a second instance takes over", async () => {
    await operator!.idle();
    await operator!.stop();
    operator = await startOperator({ ...config, leaseName: `${config.leaseName}-2` }, { poolAgentUrl: () => agentUrl });
    await waitFor("the second instance to lead", async () => (operator!.isLeader() ? true : undefined));
    // Every site and the pool reconciled at least once.
    await waitFor("the first reconciles", async () => ((await counterTotal(operator!.metrics.reconciles)) >= 3 ? true : undefined));
    await operator!.idle();
    const { values } = await operator!.metrics.apiWrites.get();
    const writes = values.filter((v) => v.labels.kind !== "Lease");
    expect(writes, JSON.stringify(writes)).toEqual([]);
  });

  it("says PoolNotConfigured once the pool image is no longer configured, and leaves the children be", async () => {
    const ns = await createSiteNamespace(kc, "nopool");
    const spec = siteSpec();
    await clients.applySite(ns, "docs", spec);
    await waitFor("the dedicated site to be live", async () => (isDigestLive(await clients.getSite(ns, "docs"), digestOf("a")) ? true : undefined), 90_000);
    await operator!.stop();
    operator = await startOperator({ ...config, pool: undefined, leaseName: `${config.leaseName}-3` });
    await clients.applySite(ns, "docs", { ...spec, serving: "shared" });
    const site: StaticSite = await waitFor("PoolNotConfigured", async () => {
      const s = await clients.getSite(ns, "docs");
      return s.status?.observedGeneration === 2 && findCondition(s.status, CONDITION_DEGRADED)?.reason === "PoolNotConfigured" ? s : undefined;
    });
    expect(findCondition(site.status, CONDITION_READY)).toMatchObject({ status: "False", reason: "PoolNotConfigured" });
    expect(findCondition(site.status, CONDITION_DEGRADED)?.message).toContain("PAGODA_OPERATOR_POOL_IMAGE");
    await operator.idle();
    expect(await absent(() => clients.apps.readNamespacedDeployment({ name: "docs", namespace: ns }))).toBe(false);
    expect(await absent(() => clients.networking.readNamespacedIngress({ name: "docs", namespace: ns }))).toBe(false);
  });
});
