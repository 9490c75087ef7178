// NEEDS A NODE: a simulated node (kwok) for the pool's and the dedicated
// site's pods, and behind the pool pods' addresses the real pool agent with a
// real nginx on loopback. From StaticSites with spec.previews to answers at
// their preview hosts: the operator's map, the agent's lazy activation.
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { previewHost, previewRef } from "@/lib/staticsite/site-url";
import { isDigestLive } from "@/lib/staticsite/types";
import { startOperator, type RunningOperator } from "../../controller";
import { Clients, createSiteNamespace, siteSpec, testOperatorConfig, waitFor } from "../../int-test-support";
import { POOL_TOKEN_KEY, POOL_TOKEN_SECRET } from "../objects";
import { AGENT_TOKEN_HEADER, poolStateSchema } from "../protocol";
import { ArtifactServer, siteArtifact, startAgent, type RunningAgent } from "./test-support";

describe("previews from StaticSites to the pool", () => {
  let cluster: TestCluster;
  let clients: Clients;
  let operator: RunningOperator | undefined;
  let agent: RunningAgent | undefined;
  let root: string;
  const artifacts = new ArtifactServer();
  const poolNamespace = `pagoda-serving-${randomBytes(3).toString("hex")}`;

  beforeAll(async () => {
    cluster = await startTestCluster({ node: "kwok" });
    clients = Clients.fromFile(cluster.kubeconfigPath);
    root = await mkdtemp(path.join(os.tmpdir(), "pagoda-pool-previews-op-"));
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

  it("serves a shared and a dedicated site's previews, and mirrors only the dedicated site's own deploy", async () => {
    const config = testOperatorConfig(cluster.kubeconfigPath, {
      pool: { image: "pagoda.local/pool:kwok", namespace: poolNamespace, replicas: 1, storeHostPath: undefined, storeMaxBytes: undefined },
    });
    let agentUrl = "http://127.0.0.1:1";
    operator = await startOperator(config, { poolAgentUrl: () => agentUrl });
    const secret = await waitFor("the pool's token", async () =>
      clients.core.readNamespacedSecret({ name: POOL_TOKEN_SECRET, namespace: poolNamespace }).catch(() => undefined),
    );
    const token = Buffer.from(secret.data![POOL_TOKEN_KEY]!, "base64").toString("utf8");
    agent = await startAgent({ storeDir: path.join(root, "store"), workDir: path.join(root, "work") }, { PAGODA_POOL_TOKEN: token });
    agentUrl = `http://127.0.0.1:${agent.apiPort}`;
    // The pods were seen before the agent existed: a new operator picks the address up.
    await operator.stop();
    operator = await startOperator({ ...config, leaseName: `${config.leaseName}-2` }, { poolAgentUrl: () => agentUrl });

    const ns = await createSiteNamespace(clients.kc, "previews");
    const [s1, s2, d1, d2] = await Promise.all([siteArtifact("s1"), siteArtifact("s2"), siteArtifact("d1"), siteArtifact("d2")]);
    const url = (name: string, data: Buffer) => artifacts.add(`${name}-${randomBytes(3).toString("hex")}.tgz`, data);
    const [s1Url, s2Url, d1Url, d2Url] = [url("s1", s1.data), url("s2", s2.data), url("d1", d1.data), url("d2", d2.data)];
    const shared = siteSpec({ artifact: { url: s1Url, digest: s1.digest }, serving: "shared", previews: [{ url: s2Url, digest: s2.digest }] });
    const dedicated = siteSpec({ artifact: { url: d1Url, digest: d1.digest }, previews: [{ url: d2Url, digest: d2.digest }] });
    await clients.applySite(ns, "shared", shared);
    await clients.applySite(ns, "own", dedicated);
    const [sharedHost, ownHost] = [shared.hosts![0]!, dedicated.hosts![0]!];
    await waitFor("the shared site served by the pool", async () => ((await agent!.page(sharedHost)).body === s1.body ? true : undefined), 60_000);
    await waitFor(
      "the dedicated site live on its own pods",
      async () => (isDigestLive(await clients.getSite(ns, "own"), d1.digest) ? true : undefined),
      90_000,
    );

    for (const [siteHost, deploy] of [
      [sharedHost, s2],
      [ownHost, d2],
    ] as const) {
      const host = previewHost(previewRef(deploy.digest), siteHost)!;
      // 404 until the map with the preview reaches the agent; then one 307, and the deploy.
      const first = await waitFor(`the preview ${host}`, async () => {
        const answer = await agent!.page(host, "/about/");
        return answer.status === 404 ? undefined : answer;
      });
      expect([first.status, first.headers.location]).toEqual([307, "/about/"]);
      const page = await agent!.page(host, "/about/");
      expect(page.body).toContain(`about ${deploy.body.slice(4, 6)}`);
      expect(page.headers["x-robots-tag"]).toBe("noindex");
    }
    // The dedicated site's own hosts are not the pool's: its hostless entry must not count as "in the pool" while its
    // own workload rolls out (desired.ts, inPool). The pool keeps its deploy only as bytes, for the site's pods.
    expect((await agent.page(ownHost)).status).toBe(404);
    expect(await agent.untilMirrored(d1.digest)).toEqual(d1.data);
    expect(artifacts.requests.filter((p) => p === new URL(d1Url).pathname)).toEqual([new URL(d1Url).pathname]);
    expect((await agent.mirrored(s1.digest)).status).toBe(404);
    // The harness's own token is not the pool's, which this agent was started with.
    const res = await fetch(`${agentUrl}/v1/state`, { headers: { [AGENT_TOKEN_HEADER]: token } });
    expect(poolStateSchema.parse(await res.json()).sites.map((s) => s.key)).toEqual([`${ns}/shared`]);
    // A StaticSite may not claim a preview's name for itself.
    const thief = siteSpec({ artifact: { url: s1Url, digest: s1.digest }, serving: "shared", hosts: [previewHost("0123456789ab", sharedHost)!] });
    await clients.applySite(ns, "thief", thief);
    const refused = await waitFor("the thief's status", async () => {
      const s = await clients.getSite(ns, "thief");
      return s.status?.conditions?.find((c) => c.reason === "HostNotAllowed");
    });
    expect(refused.message).toMatch(/preview address, which no site may claim/);
  });
});
