// The TLS tier on a real node: cert-manager asks Pebble for a certificate
// for an Ingress through HTTP-01 (the challenge answered by the acmesolver
// image behind Traefik, names resolved through the DNS harness), and Traefik
// serves the issued certificate on its HTTPS entry point.
// Needs root and the node packages (see docs/cluster.md).
import { execFile } from "node:child_process";
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, NetworkingV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterProcesses, createTestNamespace, startTestCluster, type TestCluster } from "./testing";

const run = promisify(execFile);

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Resource {
  metadata: { name: string };
  spec?: Record<string, unknown>;
  status?: { conditions?: Condition[]; state?: string; reason?: string; presented?: boolean };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
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
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe("TLS tier (Pebble + cert-manager + Traefik HTTPS)", () => {
  let cluster: TestCluster;
  let kc: KubeConfig;
  let namespace: string;
  let tmp: string;

  beforeAll(async () => {
    const started = Date.now();
    cluster = await startTestCluster({ node: "node", tls: true, timeoutSeconds: 300 });
    console.log(`TLS tier: cluster with node and TLS tier up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    namespace = await createTestNamespace(kc, "tls");
    tmp = await mkdtemp(path.join(os.tmpdir(), "pagoda-tls-test-"));
  }, 900_000);

  afterAll(async () => {
    await cluster?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 120_000);

  const custom = () => kc.makeApiClient(CustomObjectsApi);

  async function certificate(name: string): Promise<Resource | undefined> {
    try {
      return (await custom().getNamespacedCustomObject({ group: "cert-manager.io", version: "v1", namespace, plural: "certificates", name })) as Resource;
    } catch {
      return undefined;
    }
  }

  async function list(group: string, plural: string): Promise<Resource[]> {
    const res = (await custom().listNamespacedCustomObject({ group, version: "v1", namespace, plural })) as { items: Resource[] };
    return res.items;
  }

  async function site(name: string, host: string, text: string): Promise<void> {
    const labels = { app: name };
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              securityContext: { runAsNonRoot: true, runAsUser: 101, runAsGroup: 101 },
              initContainers: [
                {
                  name: "content",
                  image: "pagoda.local/busybox:1",
                  command: ["sh", "-c", `echo '${text}' > /html/index.html`],
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
    await kc.makeApiClient(CoreV1Api).createNamespacedService({
      namespace,
      body: { metadata: { name }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
    });
    await kc.makeApiClient(NetworkingV1Api).createNamespacedIngress({
      namespace,
      body: {
        metadata: { name, annotations: { "cert-manager.io/cluster-issuer": cluster.tls!.clusterIssuer } },
        spec: {
          ingressClassName: "traefik",
          tls: [{ hosts: [host], secretName: `${name}-tls` }],
          rules: [
            {
              host,
              http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name, port: { number: 80 } } } }] },
            },
          ],
        },
      },
    });
  }

  it("exposes Pebble's root, the HTTPS port and the DNS server", () => {
    const tls = cluster.tls!;
    expect(tls.pebbleRootPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(tls.httpsUrl).toBe(`https://127.0.0.1:${tls.httpsPort}`);
    expect(tls.dns.address).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("issues a certificate from Pebble through HTTP-01 and serves the site over HTTPS with it", async () => {
    const tls = cluster.tls!;
    await tls.dns.setRecords("www.customer.test", "A", ["127.0.0.1"]);
    const started = Date.now();
    await site("www", "www.customer.test", "hello over https");
    const cert = await until("Certificate www-tls to be Ready", async () => {
      const c = await certificate("www-tls");
      return c?.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") ? c : undefined;
    });
    console.log(`TLS tier: certificate issued ${((Date.now() - started) / 1000).toFixed(1)} s after the Ingress was created`);
    expect(cert.spec?.dnsNames).toEqual(["www.customer.test"]);

    const ca = path.join(tmp, "pebble-root.pem");
    await writeFile(ca, tls.pebbleRootPem);
    const curl = (extra: string[]) =>
      run("curl", [
        "-sS",
        "--max-time",
        "10",
        "--resolve",
        `www.customer.test:${tls.httpsPort}:127.0.0.1`,
        ...extra,
        `https://www.customer.test:${tls.httpsPort}/`,
      ]);
    // Traefik picks the new Secret up from its watch; until then it serves its default certificate.
    const page = await until(
      "Traefik to serve the issued certificate",
      async () => {
        try {
          return (await curl(["--fail", "--cacert", ca])).stdout;
        } catch {
          return undefined;
        }
      },
      60_000,
    );
    expect(page).toBe("hello over https\n");
    // Only Pebble's root vouches for it: the system's roots do not.
    await expect(curl([])).rejects.toThrow(/certificate/i);
  });

  it("reports why when the name does not resolve: the Challenge says so and no certificate is issued", async () => {
    await site("nodns", "nodns.customer.test", "never served");
    const challenge = await until("a Challenge for nodns.customer.test with a reason", async () => {
      const found = (await list("acme.cert-manager.io", "challenges")).find((c) => c.spec?.dnsName === "nodns.customer.test");
      return found?.status?.reason ? found : undefined;
    });
    expect(challenge.status?.reason).toMatch(/nodns\.customer\.test/);
    console.log(`TLS tier: Challenge reason: ${challenge.status?.reason}`);
    expect(challenge.status?.reason).toMatch(/self check GET request 'http:\/\/nodns\.customer\.test\/\.well-known\/acme-challenge\/.*no such host/);
    expect(challenge.status?.presented).toBe(true);
    const order = (await list("acme.cert-manager.io", "orders")).find((o) => JSON.stringify(o.spec).includes("nodns.customer.test"));
    expect(order?.status?.state).toBe("pending");
    const cert = await certificate("nodns-tls");
    expect(cert?.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("False");
  });

  it("reports Pebble's refusal: the Order fails with Pebble's reason and no certificate is issued", async () => {
    // refused.customer.test is on Pebble's blocklist (PAGODA_PEBBLE_BLOCKLIST's default); the name resolves.
    await cluster.tls!.dns.setRecords("refused.customer.test", "A", ["127.0.0.1"]);
    await site("refused", "refused.customer.test", "never served");
    const order = await until("the Order for refused.customer.test to fail", async () => {
      const found = (await list("acme.cert-manager.io", "orders")).find((o) => JSON.stringify(o.spec).includes("refused.customer.test"));
      return found?.status?.reason ? found : undefined;
    });
    console.log(`TLS tier: Order state ${order.status?.state}, reason: ${order.status?.reason}`);
    expect(order.status?.state).toMatch(/^(errored|invalid)$/);
    expect(order.status?.reason).toMatch(/issuance is forbidden by policy: "refused\.customer\.test"/);
    const cert = await certificate("refused-tls");
    expect(cert?.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("False");
  });

  it("stops without leaving a process behind", async () => {
    const stateDir = cluster.stateDir;
    await cluster.stop();
    expect(clusterProcesses(stateDir)).toEqual([]);
  });
});
