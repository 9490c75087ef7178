// The pool against the real API server, reached through a relay that counts
// TCP connections.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedCluster } from "@/tests/support/cluster";
import { freezableRelay } from "@/tests/support/tcp-relay";
import { loadClusterConnection } from "../publishing/connection";
import { pooledKubeConfig } from "./connection";

describe("pooledKubeConfig", () => {
  let relay: Awaited<ReturnType<typeof freezableRelay>>;
  let viaRelay: KubeConfig;

  beforeAll(async () => {
    const shared = sharedCluster().kc;
    const cluster = shared.getCurrentCluster();
    const user = shared.getCurrentUser();
    if (!cluster || !user) throw new Error("the shared kubeconfig has no current cluster or user");
    const server = new URL(cluster.server);
    relay = await freezableRelay({ host: server.hostname, port: Number(server.port) });
    viaRelay = new KubeConfig();
    viaRelay.loadFromOptions({
      clusters: [{ ...cluster, server: `https://${server.hostname}:${relay.port}` }],
      users: [user],
      contexts: [{ name: "relay", cluster: cluster.name, user: user.name }],
      currentContext: "relay",
    });
  });

  afterAll(async () => {
    await relay?.close();
  });

  async function connectionsFor(kc: KubeConfig, requests: number): Promise<number> {
    const before = relay.connections();
    const core = kc.makeApiClient(CoreV1Api);
    for (let i = 0; i < requests; i++) await core.listNamespace({ limit: 1 });
    return relay.connections() - before;
  }

  it("sends every request over one connection, where the bare client opens one per request", async () => {
    expect(await connectionsFor(viaRelay, 5)).toBe(5);
    const pooled = pooledKubeConfig(viaRelay);
    try {
      expect(await connectionsFor(pooled.kc, 10)).toBe(1);
    } finally {
      await pooled.close();
    }
  });

  it("is what the dashboard's connection uses", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagoda-kubeconfig-"));
    try {
      const file = path.join(dir, "kubeconfig");
      writeFileSync(file, viaRelay.exportConfig());
      const conn = loadClusterConnection({ KUBECONFIG: file });
      if (!conn.configured) throw new Error(conn.reason);
      expect(await connectionsFor(conn.kc, 10)).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
