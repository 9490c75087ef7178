import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, VersionApi, Watch, type V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterProcesses, createTestNamespace, startTestCluster, type TestCluster } from "./testing";

const here = path.dirname(fileURLToPath(import.meta.url));
const pinnedKubeVersion = /^KUBE_VERSION=(\S+)$/m.exec(readFileSync(path.join(here, "versions.env"), "utf8"))?.[1];

const widgetCrd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.test.pagoda.dev
spec:
  group: test.pagoda.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("local Kubernetes control plane", () => {
  let cluster: TestCluster | undefined;
  let crdDir: string;
  let kc: KubeConfig;
  let namespace: string;

  beforeAll(async () => {
    crdDir = await mkdtemp(path.join(os.tmpdir(), "pagoda-crds-"));
    await writeFile(path.join(crdDir, "widgets.yaml"), widgetCrd);
    cluster = await startTestCluster({ crdDir });
    kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    namespace = await createTestNamespace(kc, "Cluster Test");
  });

  afterAll(async () => {
    // Normally already stopped by the last test; this covers an earlier failure.
    if (cluster && existsSync(cluster.stateDir)) await cluster.stop();
    await rm(crdDir, { recursive: true, force: true });
  });

  it("serves the pinned Kubernetes version on loopback", async () => {
    expect(cluster!.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(pinnedKubeVersion);
  });

  it("names test namespaces after the prefix", () => {
    expect(namespace).toMatch(/^cluster-test-[0-9a-f]{8}$/);
  });

  it("delivers watch events for a ConfigMap", async () => {
    const seen: string[] = [];
    let onModified!: () => void;
    let onWatchError!: (err: Error) => void;
    const modified = new Promise<void>((resolve, reject) => {
      onModified = resolve;
      onWatchError = reject;
    });
    const abort = await new Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/configmaps`,
      { fieldSelector: "metadata.name=site-config" },
      (phase, obj: V1ConfigMap) => {
        seen.push(`${phase}:${obj.data?.["index.html"] ?? ""}`);
        if (phase === "MODIFIED") onModified();
      },
      (err: unknown) => {
        if (err) onWatchError(err instanceof Error ? err : new Error(String(err)));
      },
    );
    try {
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "site-config" }, data: { "index.html": "v1" } },
      });
      // Whether the watch started before or after the create, it reports the
      // object as ADDED; update only then so MODIFIED cannot be missed.
      await until("watch to report the ConfigMap", async () => (seen.length > 0 ? true : undefined));
      await core.patchNamespacedConfigMap({
        name: "site-config",
        namespace,
        body: [{ op: "replace", path: "/data/index.html", value: "v2" }],
      });
      await modified;
      expect(seen).toEqual(["ADDED:v1", "MODIFIED:v2"]);
    } finally {
      abort.abort();
    }
  });

  it("runs the controller manager and scheduler against a Deployment", async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "web", labels: { app: "web" } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "nginx", image: "pagoda/nginx:local" }] },
          },
        },
      },
    });
    const visible = await apps.readNamespacedDeployment({ name: "web", namespace });
    expect(visible.spec?.replicas).toBe(2);
    // The ReplicaSet and Pods exist only if kube-controller-manager works.
    const pods = await until("two Pods created by the ReplicaSet", async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: "app=web" });
      return list.items.length === 2 ? list.items : undefined;
    });
    expect(pods.every((p) => p.metadata?.ownerReferences?.[0]?.kind === "ReplicaSet")).toBe(true);
    // With no node, only a running scheduler marks them Unschedulable.
    await until("the scheduler to mark the Pods Unschedulable", async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: "app=web" });
      const unschedulable = list.items.filter((p) => p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.reason === "Unschedulable"));
      return unschedulable.length === 2 ? true : undefined;
    });
  });

  it("installs CRDs from the given directory and serves their objects", async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: "test.pagoda.dev",
      version: "v1",
      namespace,
      plural: "widgets",
      body: { apiVersion: "test.pagoda.dev/v1", kind: "Widget", metadata: { name: "w1" }, spec: { size: 3 } },
    });
    const got = (await custom.getNamespacedCustomObject({
      group: "test.pagoda.dev",
      version: "v1",
      namespace,
      plural: "widgets",
      name: "w1",
    })) as { spec: { size: number } };
    expect(got.spec.size).toBe(3);
  });

  it("stops clean: no processes, no listening port, no state left", async () => {
    const c = cluster!;
    const port = Number(new URL(c.server).port);
    expect(clusterProcesses(c.stateDir).length).toBeGreaterThanOrEqual(4);
    expect(await portOpen(port)).toBe(true);
    await c.stop();
    expect(clusterProcesses(c.stateDir)).toEqual([]);
    expect(await portOpen(port)).toBe(false);
    expect(existsSync(c.stateDir)).toBe(false);
  });
});
