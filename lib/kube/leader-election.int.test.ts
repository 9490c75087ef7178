// Leader election against the real API server, reached through a TCP relay
// that can freeze: the API server then takes no bytes and answers nothing,
// as when a connection hangs. A leader must step down at its renew
// deadline, before its lease can expire for the others, however long its
// request timeout is; and take the lease again once the server answers.
import { KubeConfig } from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestNamespace, sharedCluster } from "@/tests/support/cluster";
import { freezableRelay } from "@/tests/support/tcp-relay";
import { LeaderElector } from "./leader-election";
import { KubeRequester } from "./request";

/** Resolves with the first defined value `probe` gives; fails after `timeout` ms naming what it waited for. */
function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeout = 10_000): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (value === undefined) throw new Error(`still waiting for ${what}`);
      return value;
    },
    { timeout, interval: 50 },
  );
}

describe("leader election when the API server stops answering", () => {
  let relay: Awaited<ReturnType<typeof freezableRelay>>;
  let kc: KubeConfig;
  let namespace: string;

  beforeAll(async () => {
    const shared = sharedCluster();
    const server = new URL(shared.kc.getCurrentCluster()?.server ?? "");
    relay = await freezableRelay({ host: server.hostname, port: Number(server.port) });
    const cluster = shared.kc.getCurrentCluster();
    if (!cluster) throw new Error("the shared kubeconfig has no cluster");
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ ...cluster, server: `https://${server.hostname}:${relay.port}` }],
      users: [shared.kc.getCurrentUser()!],
      contexts: [{ name: "relay", cluster: cluster.name, user: shared.kc.getCurrentUser()!.name }],
      currentContext: "relay",
    });
    namespace = await createTestNamespace(shared.kc, "leader");
  });

  afterAll(async () => {
    await relay?.close();
  });

  it("steps down at the renew deadline while its renewal hangs, then leads again", async () => {
    const events: Array<{ leading: boolean; at: number }> = [];
    const leaseDurationMs = 4_000;
    const elector = new LeaderElector({
      // A request timeout far beyond the lease: stepping down must not wait for it.
      requester: new KubeRequester(kc, { requestTimeoutMs: 120_000 }),
      namespace,
      name: "pagoda-operator",
      identity: "candidate-a",
      leaseDurationMs,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 300,
      log: pino({ level: "silent" }),
      onStartedLeading: () => void events.push({ leading: true, at: Date.now() }),
      onStoppedLeading: () => void events.push({ leading: false, at: Date.now() }),
    });
    elector.start();
    try {
      await waitFor("candidate-a to lead", async () => (elector.isLeader ? true : undefined));

      const frozenAt = Date.now();
      relay.freeze();
      const stepDown = await waitFor("candidate-a to step down", async () => events.find((e) => !e.leading), 20_000);
      // Its renewal was sent and is still unanswered: the step-down did not wait for it.
      expect(relay.bytesWhileFrozen()).toBeGreaterThan(0);
      // Others may take the lease once it has gone unrenewed for its duration; the leader was gone before that.
      expect(stepDown.at - frozenAt).toBeLessThan(leaseDurationMs);

      relay.thaw();
      await waitFor("candidate-a to lead again", async () => (elector.isLeader ? true : undefined), 20_000);
      expect(events.map((e) => e.leading)).toEqual([true, false, true]);
    } finally {
      await elector.stop();
    }
  });
});
