// The operator's replica client against the real pool agent (its bundle,
// with a real nginx, on loopback ports): the map is pushed, the state
// long-polled, and a shared site's status derived from what the agent
// reports serving. The pod is only the description the Pod watch would
// deliver; the agent behind its address is real.
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findCondition, type StaticSiteStatus } from "@/lib/staticsite/types";
import { makeSite } from "../test-fixtures";
import { waitFor } from "../int-test-support";
import { ArtifactServer, siteArtifact, startAgent, type Artifact, type RunningAgent } from "./agent/test-support";
import { SharedPool } from "./shared-pool";
import { deriveSharedStatus } from "./status";
import type { PoolSite } from "./protocol";

const KEY = "acme/blog";
const HOST = "blog.example.com";

describe("the replica client and a real pool agent", () => {
  const artifacts = new ArtifactServer();
  let root: string;
  let agent: RunningAgent;
  let pool: SharedPool;
  let alpha: Artifact;
  let beta: Artifact;
  let alphaUrl: string;
  let betaUrl: string;
  const counts = { pushes: 0, failures: 0, lagObserved: 0 };

  const pod: V1Pod = {
    metadata: { name: "pagoda-pool-0", namespace: "pagoda-serving" },
    status: { phase: "Running", podIP: "127.0.0.1", conditions: [{ type: "Ready", status: "True" }] },
  };

  function entry(artifact: Artifact, url: string): PoolSite {
    return { key: KEY, hosts: [HOST], digest: artifact.digest, url, spa: false };
  }

  function status(artifact: Artifact, previous?: StaticSiteStatus): StaticSiteStatus {
    const site = makeSite({ serving: "shared", hosts: [HOST], artifact: { url: "https://pagoda.example/x.tgz", digest: artifact.digest } });
    if (previous) site.status = previous;
    return deriveSharedStatus({ site, url: `http://${HOST}`, poolConfigured: true, replicas: pool.reports(), hosts: [HOST], now: new Date() });
  }

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "pagoda-replicas-"));
    // Started as root, nginx's workers run as nobody and must reach the unpacked trees.
    await chmod(root, 0o755);
    await artifacts.start();
    alpha = await siteArtifact("alpha");
    beta = await siteArtifact("beta");
    alphaUrl = artifacts.add("alpha.tgz", alpha.data);
    betaUrl = artifacts.add("beta.tgz", beta.data);
    agent = await startAgent({ storeDir: path.join(root, "store"), workDir: path.join(root, "work") });
    pool = new SharedPool({
      namespace: "pagoda-serving",
      log: pino({ level: "silent" }),
      schedulePublish: () => queueMicrotask(() => pool.publish()),
      agentUrl: () => `http://127.0.0.1:${agent.apiPort}`,
      requestTimeoutMs: 5_000,
      backoff: { baseMs: 100, maxMs: 1_000 },
      metrics: {
        push: (ok) => (ok ? counts.pushes++ : counts.failures++),
        replicas: () => undefined,
        applied: () => counts.lagObserved++,
      },
      onReport: () => undefined,
    });
    pool.replicas.podChanged("add", pod);
    pool.replicas.start();
    pool.setToken(agent.token);
    pool.begin();
  });

  afterAll(async () => {
    await pool?.replicas.stop();
    await agent?.stop();
    await artifacts.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("pushes the map, and the site is Available only once the agent reports serving its digest", async () => {
    expect(findCondition(status(alpha), "Ready")?.reason).toBe("PoolUnavailable");
    pool.setEntry(KEY, entry(alpha, alphaUrl));
    const live = await waitFor("the agent to serve alpha", async () => {
      const s = status(alpha);
      return findCondition(s, "Ready")?.status === "True" ? s : undefined;
    });
    expect(live).toMatchObject({ currentDigest: alpha.digest, replicas: 1, readyReplicas: 1 });
    expect((await agent.page(HOST)).body).toBe(alpha.body);
    expect(counts.pushes).toBeGreaterThanOrEqual(1);
    expect(counts.lagObserved).toBeGreaterThanOrEqual(1);
  });

  it("reports the agent's refusal of an artifact, the old digest serving meanwhile", async () => {
    const previous = status(alpha);
    // beta's digest, alpha's bytes: the agent must refuse them.
    pool.setEntry(KEY, entry(beta, alphaUrl));
    const refused = await waitFor("the agent to refuse the artifact", async () => {
      const s = status(beta, previous);
      return findCondition(s, "Degraded")?.status === "True" ? s : undefined;
    });
    expect(findCondition(refused, "Degraded")?.reason).toBe("ArtifactInvalid");
    expect(refused.currentDigest).toBe(alpha.digest);
    expect(findCondition(refused, "Ready")?.status).toBe("False");
    expect((await agent.page(HOST)).body).toBe(alpha.body);

    pool.setEntry(KEY, entry(beta, betaUrl));
    const fixed = await waitFor("the agent to serve beta", async () => {
      const s = status(beta, refused);
      return s.currentDigest === beta.digest && findCondition(s, "Ready")?.status === "True" ? s : undefined;
    });
    expect(findCondition(fixed, "Degraded")?.status).toBe("False");
    expect((await agent.page(HOST)).body).toBe(beta.body);
  });

  it("numbers its next map above a newer one the agent holds (an earlier leader's), and the agent takes it", async () => {
    const held = pool.replicas.reports()[0]?.state?.desiredGeneration ?? 0;
    // Another writer's map, far ahead of this one's clock, without the site.
    const ahead = held + 10_000_000_000;
    const res = await agent.put({ generation: ahead, sites: [] });
    expect(res.status, res.body).toBe(202);
    // The client sees the agent hold a newer map than its own and sends its own above it.
    const state = await waitFor("the site back on the agent", async () => {
      const s = pool.replicas.reports()[0]?.state;
      // Applied, not only received: until then the sites listed may still be those of a map before the other writer's.
      return s && s.appliedGeneration > ahead && s.sites.some((x) => x.key === KEY && x.digest === beta.digest) ? s : undefined;
    });
    expect(state.desiredGeneration).toBe(ahead + 1);
    expect((await agent.page(HOST)).body).toBe(beta.body);
  });

  it("forgets a pod that went away: no report, and its sites have no ready replica", async () => {
    pool.replicas.podChanged("delete", pod);
    expect(pool.replicas.reports()).toEqual([]);
    expect(findCondition(status(beta), "Ready")?.reason).toBe("PoolUnavailable");
  });
});
