// NEEDS A NODE: a simulated node (kwok) for the pool's pods, and behind
// their addresses the real pool agent with a real nginx on loopback (the
// simulated pods run nothing, so the operator is pointed at the agent
// instead of their pod IPs). With a pool that really serves, a site switched
// from dedicated to shared loses its own Ingress first, then the rest of
// its children, and is Ready from the agent's report.
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Watch, type KubeConfig, type V1Deployment } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { CONDITION_READY, findCondition, isDigestLive } from "@/lib/staticsite/types";
import { startOperator, type RunningOperator } from "../controller";
import { HANDOVER_MS } from "../reconcile";
import { Clients, createSiteNamespace, httpCode, siteSpec, testOperatorConfig, waitFor } from "../int-test-support";
import { ArtifactServer, siteArtifact, startAgent, type RunningAgent } from "./agent/test-support";
import { POOL_TOKEN_KEY, POOL_TOKEN_SECRET } from "./objects";
import { AGENT_TOKEN_HEADER, poolStateSchema } from "./protocol";

describe("switching a site to the shared pool", () => {
  let cluster: TestCluster;
  let clients: Clients;
  let kc: KubeConfig;
  let operator: RunningOperator | undefined;
  let agent: RunningAgent | undefined;
  let root: string;
  const artifacts = new ArtifactServer();
  const poolNamespace = `pagoda-serving-${randomBytes(3).toString("hex")}`;

  beforeAll(async () => {
    cluster = await startTestCluster({ node: "kwok" });
    clients = Clients.fromFile(cluster.kubeconfigPath);
    kc = clients.kc;
    root = await mkdtemp(path.join(os.tmpdir(), "pagoda-pool-switch-"));
    // Started as root, nginx's workers run as nobody and must reach the unpacked trees.
    await chmod(root, 0o755);
    await artifacts.start();
  });

  afterAll(async () => {
    await operator?.stop();
    await agent?.stop();
    await artifacts.stop();
    await cluster?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const gone = async (read: () => Promise<unknown>) => {
    try {
      await read();
      return undefined;
    } catch (err) {
      return httpCode(err) === 404 ? true : undefined;
    }
  };

  it("takes the site's own Ingress away once the pool serves it, then its other children", async () => {
    const config = testOperatorConfig(cluster.kubeconfigPath, {
      pool: { image: "pagoda.local/pool:kwok", namespace: poolNamespace, replicas: 2, storeHostPath: undefined, storeMaxBytes: undefined },
    });
    let agentUrl = "http://127.0.0.1:1";
    operator = await startOperator(config, { poolAgentUrl: () => agentUrl });
    // The agent must hold the pool's own token, which the operator makes.
    const secret = await waitFor("the pool's token", async () =>
      clients.core.readNamespacedSecret({ name: POOL_TOKEN_SECRET, namespace: poolNamespace }).catch(() => undefined),
    );
    const token = Buffer.from(secret.data![POOL_TOKEN_KEY]!, "base64").toString("utf8");
    agent = await startAgent({ storeDir: path.join(root, "store"), workDir: path.join(root, "work") }, { PAGODA_POOL_TOKEN: token });
    agentUrl = `http://127.0.0.1:${agent.apiPort}`;
    // The pods were seen before the agent existed: a new operator picks the address up.
    await operator.stop();
    operator = await startOperator({ ...config, leaseName: `${config.leaseName}-2` }, { poolAgentUrl: () => agentUrl });

    const ns = await createSiteNamespace(kc, "switch");
    const artifact = await siteArtifact("switched");
    const url = artifacts.add("switched.tgz", artifact.data);
    const spec = siteSpec({ artifact: { url, digest: artifact.digest } });
    const host = spec.hosts![0]!;
    await clients.applySite(ns, "blog", spec);
    await waitFor("the dedicated site to be live", async () => (isDigestLive(await clients.getSite(ns, "blog"), artifact.digest) ? true : undefined), 90_000);

    // When the watch reports each child deleted: the ingress controller lets go of the site's pods only a while after its Ingress goes.
    const deletedAt = new Map<string, number>();
    const recordDeleted = (kind: string) => (type: string, obj: { metadata?: { name?: string } }) => {
      if (type === "DELETED" && obj.metadata?.name === "blog") deletedAt.set(kind, Date.now());
    };
    const deletions = await Promise.all([
      new Watch(kc).watch(`/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`, {}, recordDeleted("Ingress"), () => undefined),
      new Watch(kc).watch(`/apis/apps/v1/namespaces/${ns}/deployments`, {}, recordDeleted("Deployment"), () => undefined),
    ]);
    await clients.applySite(ns, "blog", { ...spec, serving: "shared" });
    const ready = await waitFor(
      "the shared site to be Ready from the pool",
      async () => {
        const s = await clients.getSite(ns, "blog");
        return s.status?.observedGeneration === 2 && findCondition(s.status, CONDITION_READY)?.status === "True" ? s : undefined;
      },
      60_000,
    );
    expect(ready.status).toMatchObject({ currentDigest: artifact.digest, replicas: 2, readyReplicas: 2 });
    expect((await agent.page(host)).body).toBe(artifact.body);
    await waitFor("the site's Ingress gone", () => gone(() => clients.networking.readNamespacedIngress({ name: "blog", namespace: ns })));
    await waitFor("the site's Deployment gone", () => gone(() => clients.apps.readNamespacedDeployment({ name: "blog", namespace: ns })));
    await waitFor("the site's Service gone", () => gone(() => clients.core.readNamespacedService({ name: "blog", namespace: ns })));
    await waitFor("the site's ConfigMap gone", () => gone(() => clients.core.readNamespacedConfigMap({ name: "blog-nginx", namespace: ns })));
    for (const w of deletions) w.abort();
    // A lower bound, so it cannot pass by luck: the pods outlive their Ingress by the handover (less the watch's delivery jitter).
    expect(deletedAt.get("Deployment")! - deletedAt.get("Ingress")!).toBeGreaterThanOrEqual(HANDOVER_MS - 250);
    // The pool serves it all along.
    expect((await agent.page(host)).body).toBe(artifact.body);

    // And back: the site's own Ingress would win over the pool's wildcard at
    // once, so it must not appear before the site's own pods are available.
    const seen: string[] = [];
    let ingressAddedAt = 0;
    let leftPoolAt = 0;
    const record = (kind: string) => (type: string, obj: { metadata?: { name?: string }; status?: V1Deployment["status"] }) => {
      if (obj.metadata?.name !== "blog") return;
      if (kind === "Ingress" && type === "ADDED") {
        seen.push("ingress");
        ingressAddedAt = Date.now();
      }
      if (kind === "Deployment" && (obj.status?.availableReplicas ?? 0) >= 1) seen.push("available");
    };
    const watches = await Promise.all([
      new Watch(kc).watch(`/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`, {}, record("Ingress"), () => undefined),
      new Watch(kc).watch(`/apis/apps/v1/namespaces/${ns}/deployments`, {}, record("Deployment"), () => undefined),
    ]);
    try {
      await clients.applySite(ns, "blog", spec);
      await waitFor(
        "the site back on its own pods and out of the pool",
        async () => {
          const live = isDigestLive(await clients.getSite(ns, "blog"), artifact.digest);
          // The harness's own token is not the pool's, which this agent was started with.
          const res = await fetch(`${agentUrl}/v1/state`, { headers: { [AGENT_TOKEN_HEADER]: token } });
          const state = poolStateSchema.parse(await res.json());
          const left = !state.sites.some((x) => x.key === `${ns}/blog`);
          if (left && !leftPoolAt) leftPoolAt = Date.now();
          return live && seen.includes("ingress") && left ? true : undefined;
        },
        60_000,
      );
      expect(seen.indexOf("available"), seen.join(" ")).toBeGreaterThanOrEqual(0);
      expect(seen.indexOf("available"), seen.join(" ")).toBeLessThan(seen.indexOf("ingress"));
      // And the pool let go of it only a handover after its own Ingress was there (seen here later than it happened: a lower bound).
      expect(leftPoolAt - ingressAddedAt).toBeGreaterThanOrEqual(HANDOVER_MS - 250);
    } finally {
      for (const w of watches) w.abort();
    }
  }, 180_000);
});
