// The operator survives what production throws at it: being killed with
// SIGKILL in the middle of its work (run as a real process through
// operator/main.ts) and its API server going away and coming back.
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CoordinationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { CONDITION_PROGRESSING, findCondition } from "@/lib/staticsite/types";
import { Clients, createSiteNamespace, siteSpec, TEST_BASE_DOMAIN, testOperatorConfig, waitFor } from "./int-test-support";
import { counterTotal } from "./metrics";
import { startOperator } from "./controller";
import { operatorCommand } from "@/scripts/operator-build";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

interface OperatorProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** How the operator runs everywhere: node and the bundle, no wrapper process a SIGKILL would leave its child behind. */
let operatorProcess: { command: string; args: string[] } | undefined;

function spawnOperator(env: Record<string, string>): OperatorProcess {
  if (!operatorProcess) throw new Error("the operator bundle is built in beforeAll");
  const child = spawn(operatorProcess.command, operatorProcess.args, {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: "info", NODE_ENV: "production", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

function runClusterScript(args: string[], stateDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [path.join(repoRoot, "local-cluster", "pagoda-cluster"), ...args], {
      env: { ...process.env, PAGODA_CLUSTER_DIR: stateDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("operator resilience", () => {
  let cluster: TestCluster;
  let clients: Clients;
  let kc: KubeConfig;

  beforeAll(async () => {
    operatorProcess = await operatorCommand();
    cluster = await startTestCluster();
    clients = Clients.fromFile(cluster.kubeconfigPath);
    kc = clients.kc;
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("converges without duplicates after SIGKILL mid-way, and releases its lease on SIGTERM", async () => {
    const ns = await createSiteNamespace(kc, "kill");
    const count = 30;
    const names = Array.from({ length: count }, (_, i) => `site-${i}`);
    for (const name of names) await clients.applySite(ns, name, siteSpec({ hosts: [`${name}.${TEST_BASE_DOMAIN}`] }));

    const lease = `pagoda-operator-kill-${Date.now().toString(36)}`;
    const env = {
      KUBECONFIG: cluster.kubeconfigPath,
      PAGODA_OPERATOR_PORT: "0",
      PAGODA_OPERATOR_LEASE_NAME: lease,
      PAGODA_OPERATOR_LEASE_NAMESPACE: "default",
      PAGODA_OPERATOR_LEASE_DURATION_SECONDS: "3",
      PAGODA_OPERATOR_LEASE_RENEW_SECONDS: "2",
      PAGODA_BASE_DOMAIN: TEST_BASE_DOMAIN,
    };
    const first = spawnOperator({ ...env, PAGODA_OPERATOR_IDENTITY: "first", PAGODA_OPERATOR_CONCURRENCY: "1" });
    try {
      await waitFor(
        "the first operator to create some children",
        async () => {
          const deps = await clients.apps.listNamespacedDeployment({ namespace: ns });
          return deps.items.length > 0 ? true : undefined;
        },
        60_000,
      );
    } finally {
      first.child.kill("SIGKILL");
      await first.exited;
    }
    const afterKill = (await clients.apps.listNamespacedDeployment({ namespace: ns })).items.length;
    expect(afterKill, first.output()).toBeGreaterThan(0);

    const second = spawnOperator({ ...env, PAGODA_OPERATOR_IDENTITY: "second" });
    try {
      await waitFor(
        "every site to have its children and status",
        async () => {
          const [deps, cms, svcs, ings] = await Promise.all([
            clients.apps.listNamespacedDeployment({ namespace: ns }),
            clients.core.listNamespacedConfigMap({ namespace: ns, labelSelector: "app.kubernetes.io/managed-by=pagoda" }),
            clients.core.listNamespacedService({ namespace: ns }),
            clients.networking.listNamespacedIngress({ namespace: ns }),
          ]);
          if ([deps, cms, svcs, ings].some((l) => l.items.length < count)) return undefined;
          for (const name of names) {
            const s = await clients.getSite(ns, name);
            if (s.status?.observedGeneration !== 1 || !findCondition(s.status, CONDITION_PROGRESSING)) return undefined;
          }
          return true;
        },
        90_000,
      );
      const deps = await clients.apps.listNamespacedDeployment({ namespace: ns });
      expect(deps.items.map((d) => d.metadata?.name).sort()).toEqual([...names].sort());
      // One ReplicaSet per Deployment: no site was rolled twice by a confused restart.
      await waitFor("ReplicaSets", async () => {
        const rs = await clients.apps.listNamespacedReplicaSet({ namespace: ns });
        return rs.items.length >= count ? rs : undefined;
      });
      const rs = await clients.apps.listNamespacedReplicaSet({ namespace: ns });
      expect(rs.items).toHaveLength(count);

      // Let every status settle on "waiting to be scheduled" (no node here).
      await waitFor(
        "statuses to settle",
        async () => {
          for (const name of names) {
            const s = await clients.getSite(ns, name);
            if (!findCondition(s.status, CONDITION_PROGRESSING)?.message.includes("waiting to be scheduled")) return undefined;
            // The pod count reaches the status a moment after the message; a
            // site caught in between would rightly be written by the next instance.
            if (s.status?.replicas !== 1) return undefined;
          }
          return true;
        },
        60_000,
      );

      second.child.kill("SIGTERM");
      expect(await second.exited, second.output()).toBe(0);
      const held = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: lease, namespace: "default" });
      expect(held.spec?.holderIdentity).toBeUndefined();
      expect(second.output()).toContain("released leader lease");

      // A fresh instance starts from lists (whose items lack apiVersion/kind)
      // and must find nothing to write for sites that are converged.
      const third = await startOperator(
        // Same settings as the processes above (which read their environment).
        testOperatorConfig(cluster.kubeconfigPath, { leaseName: lease, identity: "third", ingressClass: undefined }),
      );
      try {
        await waitFor("the third instance to lead", async () => (third.isLeader() ? true : undefined), 15_000);
        await waitFor("every site to be reconciled", async () => ((await counterTotal(third.metrics.reconciles)) >= count ? true : undefined));
        await third.idle();
        const writes = (await third.metrics.apiWrites.get()).values.filter((v) => v.labels.kind !== "Lease");
        expect(writes).toEqual([]);
      } finally {
        await third.stop();
      }
    } finally {
      if (second.child.exitCode === null) {
        second.child.kill("SIGKILL");
        await second.exited;
      }
    }
  }, 300_000);

  it("catches up after the API server restarts under it", async () => {
    const operator = await startOperator(testOperatorConfig(cluster.kubeconfigPath, { watchStallMs: 1_000 }));
    try {
      const ns = await createSiteNamespace(kc, "restart");
      await clients.applySite(ns, "before", siteSpec());
      await waitFor("children of the first site", () => clients.apps.readNamespacedDeployment({ name: "before", namespace: ns }));
      await operator.idle();

      const port = Number(new URL(cluster.server).port);
      const pid = Number((await readFile(path.join(cluster.stateDir, "run", "kube-apiserver.pid"), "utf8")).trim());
      process.kill(pid, "SIGKILL");
      await waitFor("the API server to be gone", async () => ((await portClosed(port)) ? true : undefined));
      await waitFor(
        "/readyz to report the broken watches",
        async () => (operator.readiness().reasons.some((r) => r.includes("watch down")) ? true : undefined),
        15_000,
      );

      const up = await runClusterScript(["up"], cluster.stateDir);
      expect(up.code, up.output).toBe(0);

      await clients.applySite(ns, "after", siteSpec());
      await clients.applySite(ns, "before", siteSpec({ spa: true }));
      await waitFor(
        "the operator to reconcile a site created after the restart",
        () => clients.apps.readNamespacedDeployment({ name: "after", namespace: ns }),
        90_000,
      );
      await waitFor(
        "the operator to apply a change made after the restart",
        async () => {
          const cm = await clients.core.readNamespacedConfigMap({ name: "before-nginx", namespace: ns });
          return cm.data?.["nginx.conf"]?.includes("/index.html;") ? true : undefined;
        },
        90_000,
      );
      expect(await counterTotal(operator.metrics.watchRestarts)).toBeGreaterThan(0);
      await waitFor("readiness to recover", async () => (operator.readiness().ready ? true : undefined), 60_000);
    } finally {
      await operator.stop();
    }
  }, 300_000);
});
