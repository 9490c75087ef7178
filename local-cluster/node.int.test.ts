// A real node: containerd runs the locally built images, the CNI bridge gives
// Pods addresses, kube-proxy serves the ClusterIP and Traefik the Ingress.
// Needs root and the node packages (see docs/cluster.md).
import { execFileSync } from "node:child_process";
import http from "node:http";
import { readFileSync } from "node:fs";
import { AppsV1Api, CoreV1Api, KubeConfig, NetworkingV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterProcesses, createTestNamespace, startTestCluster, type TestCluster } from "./testing";

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** GET with an explicit Host header (fetch does not allow setting it). */
function get(url: string, host?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: host ? { Host: host } : {}, timeout: 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
  });
}

function bridgeExists(): boolean {
  try {
    execFileSync("ip", ["link", "show", "pagoda0"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("real node (kubelet + containerd + Traefik)", () => {
  let cluster: TestCluster;
  let kc: KubeConfig;

  beforeAll(async () => {
    cluster = await startTestCluster({ node: "node", timeoutSeconds: 300 });
    kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
  }, 600_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  it("registers a Ready node backed by containerd", async () => {
    const nodes = await kc.makeApiClient(CoreV1Api).listNode();
    expect(nodes.items).toHaveLength(1);
    const node = nodes.items[0]!;
    expect(node.metadata?.labels?.["pagoda.dev/simulated"]).toBeUndefined();
    expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("serves a page from an nginx Pod through a Service and an Ingress", async () => {
    const namespace = await createTestNamespace(kc, "node");
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const net = kc.makeApiClient(NetworkingV1Api);
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "site" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "site" } },
          template: {
            metadata: { labels: { app: "site" } },
            spec: {
              automountServiceAccountToken: false,
              securityContext: { runAsNonRoot: true, runAsUser: 101, runAsGroup: 101 },
              initContainers: [
                {
                  name: "content",
                  image: "pagoda.local/busybox:1",
                  command: ["sh", "-c", 'echo "served by $(hostname)" | tee /html/index.html | sha256sum'],
                  volumeMounts: [{ name: "html", mountPath: "/html" }],
                },
              ],
              containers: [
                {
                  name: "nginx",
                  image: "pagoda.local/nginx:1",
                  ports: [{ containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 },
                  securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
                  volumeMounts: [
                    { name: "html", mountPath: "/usr/share/nginx/html" },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                { name: "html", emptyDir: {} },
                { name: "tmp", emptyDir: {} },
              ],
            },
          },
        },
      },
    });
    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: "site" },
        spec: { selector: { app: "site" }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    await net.createNamespacedIngress({
      namespace,
      body: {
        metadata: { name: "site" },
        spec: {
          ingressClassName: "traefik",
          rules: [
            {
              host: "site.test",
              http: {
                paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "site", port: { number: 80 } } } }],
              },
            },
          ],
        },
      },
    });
    await until("Deployment site to be Available", async () => {
      const d = await apps.readNamespacedDeployment({ name: "site", namespace });
      return d.status?.availableReplicas === 1 ? true : undefined;
    });
    const pods = await core.listNamespacedPod({ namespace, labelSelector: "app=site" });
    const podName = pods.items[0]?.metadata?.name;
    expect(podName).toBeTruthy();
    const expected = `served by ${podName}\n`;

    const viaIngress = await until("the Ingress to route site.test", async () => {
      const res = await get(`${cluster.ingressUrl}/`, "site.test");
      return res.status === 200 ? res : undefined;
    });
    expect(viaIngress.body).toBe(expected);
    // An unknown host must not reach the site: Traefik answers 404 itself.
    expect((await get(`${cluster.ingressUrl}/`, "other.test")).status).toBe(404);

    const svc = await core.readNamespacedService({ name: "site", namespace });
    const viaService = await until("kube-proxy to serve the ClusterIP", async () => {
      const res = await get(`http://${svc.spec?.clusterIP}/`);
      return res.status === 200 ? res : undefined;
    });
    expect(viaService.body).toBe(expected);
  });

  it("stops without leaving processes, mounts or the bridge behind", async () => {
    const stateDir = cluster.stateDir;
    await cluster.stop();
    expect(clusterProcesses(stateDir)).toEqual([]);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((line) => line.split(" ")[4]?.startsWith(stateDir));
    expect(mounts).toEqual([]);
    expect(bridgeExists()).toBe(false);
  });
});
