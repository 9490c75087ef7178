// NEEDS A REAL NODE (root) and the TLS tier: a StaticSite with a custom
// domain gets its certificate from Pebble through cert-manager and HTTP-01,
// is served over HTTPS with it, and plain HTTP redirects there, while the
// built-in address keeps answering over plain HTTP; a domain the issuer
// refuses shows the refusal and takes nothing else down. The same for a
// site on the shared pool, whose domain's objects live in the pool's
// namespace.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createReadStream } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { FsArtifactStore } from "@/lib/artifacts/fs-store";
import type { Digest } from "@/lib/artifacts/digest";
import { CONDITION_DEGRADED, CONDITION_READY, findCondition, isDigestLive, type StaticSite } from "@/lib/staticsite/types";
import { DEFAULT_UPLOAD_LIMITS, processUpload } from "@/lib/uploads";
import { buildZip } from "@/lib/uploads/test-support";
import { getWithHost } from "@/tests/support/host-get";
import { Clients, createSiteNamespace, TEST_BASE_DOMAIN, testOperatorConfig, waitFor } from "./int-test-support";
import { startOperator, type RunningOperator } from "./controller";

const run = promisify(execFile);
const SITE = "shop";
const DOMAIN = "www.customer.test";
// On Pebble's blocklist in the TLS tier (PAGODA_PEBBLE_BLOCKLIST's default): it resolves, and Pebble refuses to issue.
const REFUSED = "refused.customer.test";
const SHARED_DOMAIN = "pool.customer.test";
const POOL_NAMESPACE = "pagoda-serving";
const PAGE = "<!doctype html><title>shop</title><h1>custom domain</h1>\n";

/** Serves the stored artifact on the node's bridge address, where pods can reach it. */
async function serveArtifact(store: FsArtifactStore, digest: Digest, address: string): Promise<{ url: string; close(): Promise<void> }> {
  const file = `/artifacts/${digest.slice("sha256:".length)}.tar.gz`;
  const server = http.createServer((req, res) => {
    if (req.url !== file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": "application/gzip" });
    createReadStream(store.pathOf(digest))
      .on("error", () => res.destroy())
      .pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, address, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}${file}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("custom domains on a real node with the TLS tier", () => {
  let cluster: TestCluster;
  let clients: Clients;
  let operator: RunningOperator;
  let work: string;
  let artifact: Awaited<ReturnType<typeof serveArtifact>>;
  let digest: Digest;

  beforeAll(async () => {
    cluster = await startTestCluster({ node: "node", tls: true, poolImage: true, timeoutSeconds: 300 });
    clients = Clients.fromFile(cluster.kubeconfigPath);
    work = await mkdtemp(path.join(os.tmpdir(), "pagoda-domains-"));
    const store = new FsArtifactStore(path.join(work, "store"));
    const zipPath = path.join(work, "site.zip");
    await writeFile(zipPath, await buildZip([{ name: "dist/index.html", data: PAGE }]));
    digest = (await processUpload(zipPath, DEFAULT_UPLOAD_LIMITS, store, { tmpDir: work })).digest;
    const [node] = (await clients.core.listNode()).items;
    const bridge = node?.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    if (!bridge) throw new Error("the node reports no InternalIP");
    artifact = await serveArtifact(store, digest, bridge);
    operator = await startOperator(
      testOperatorConfig(cluster.kubeconfigPath, {
        nginxImage: "pagoda.local/nginx:1",
        fetchImage: "pagoda.local/busybox:1",
        imagePullPolicy: "IfNotPresent",
        ingressClass: "traefik",
        tls: true,
        clusterIssuer: cluster.tls!.clusterIssuer,
        // Defined by the TLS tier's Traefik file provider: redirectScheme to its HTTPS port.
        httpsRedirectMiddleware: "pagoda-https-redirect@file",
        siteScheme: "http",
        pool: { image: cluster.poolImage!, namespace: POOL_NAMESPACE, replicas: 1, storeHostPath: undefined, storeMaxBytes: undefined },
      }),
    );
  }, 900_000);

  afterAll(async () => {
    await operator?.stop();
    await artifact?.close();
    await cluster?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  }, 180_000);

  /**
   * The domain served over HTTPS with its issued certificate, plain HTTP
   * redirecting there, and the built-in address answering over plain HTTP,
   * not redirected. Returns a fetch of the domain's page over HTTPS.
   */
  async function expectServedOverHttps(domain: string, builtIn: string): Promise<() => Promise<string>> {
    const tls = cluster.tls!;
    const ca = path.join(work, `pebble-root-${domain}.pem`);
    await writeFile(ca, tls.pebbleRootPem);
    const https = async () =>
      (
        await run("curl", [
          "-sS",
          "--fail",
          "--max-time",
          "10",
          "--resolve",
          `${domain}:${tls.httpsPort}:127.0.0.1`,
          "--cacert",
          ca,
          `https://${domain}:${tls.httpsPort}/`,
        ])
      ).stdout;
    // Traefik picks the Secret up from its watch; until then it serves its default certificate.
    const page = await waitFor(
      "Traefik to serve the issued certificate",
      async () => {
        try {
          return await https();
        } catch {
          return undefined;
        }
      },
      60_000,
    );
    expect(page).toBe(PAGE);
    const redirect = await waitFor(
      "plain HTTP to redirect",
      async () => {
        const res = await getWithHost(`${cluster.ingressUrl}/`, domain);
        return res.status >= 300 && res.status < 400 ? res : undefined;
      },
      60_000,
    );
    expect(redirect.headers.location).toBe(`https://${domain}:${tls.httpsPort}/`);
    const plain = await getWithHost(`${cluster.ingressUrl}/`, builtIn);
    expect(plain.status).toBe(200);
    expect(plain.body).toBe(PAGE);
    return https;
  }

  it("gets a Ready certificate from Pebble, serves the domain over HTTPS and redirects HTTP there, and shows an issuer's refusal", async () => {
    const tls = cluster.tls!;
    await tls.dns.setRecords(DOMAIN, "A", ["127.0.0.1"]);
    await tls.dns.setRecords(REFUSED, "A", ["127.0.0.1"]);
    const ns = await createSiteNamespace(clients.kc, "domains");
    const builtIn = `${SITE}-${ns}.${TEST_BASE_DOMAIN}`;
    await clients.applySite(ns, SITE, { artifact: { url: artifact.url, digest }, hosts: [builtIn], domains: [DOMAIN, REFUSED] });
    const site = () => clients.getSite(ns, SITE);
    // On a timeout, what cert-manager and the operator saw.
    const explain = async (err: unknown) => {
      const list = async (plural: string) =>
        (
          (await clients.custom.listNamespacedCustomObject({
            group: plural === "orders" || plural === "challenges" ? "acme.cert-manager.io" : "cert-manager.io",
            version: "v1",
            namespace: ns,
            plural,
          })) as { items: { metadata: { name: string }; status?: unknown }[] }
        ).items.map((i) => ({ name: i.metadata.name, status: i.status }));
      console.log(
        JSON.stringify(
          {
            status: (await site()).status,
            certificates: await list("certificates"),
            requests: await list("certificaterequests"),
            orders: await list("orders"),
            challenges: await list("challenges"),
          },
          null,
          1,
        ).slice(0, 12_000),
      );
      throw err;
    };
    const stateOf = (s: StaticSite, name: string) => s.status?.domains?.find((d) => d.name === name);

    await waitFor("the site to be live", async () => (isDigestLive(await site(), digest) ? true : undefined), 180_000).catch(explain);
    const serving = await waitFor(
      "the custom domain to be served over HTTPS",
      async () => {
        const s = await site();
        return stateOf(s, DOMAIN)?.state === "serving" ? s : undefined;
      },
      240_000,
    ).catch(explain);
    expect(stateOf(serving, DOMAIN)?.reason).toBe("served over HTTPS");

    const https = await expectServedOverHttps(DOMAIN, builtIn);

    // The issuer's refusal reaches the domain's status; the site stays Ready on its other addresses.
    const refused = await waitFor(
      "the refused domain to fail",
      async () => {
        const s = await site();
        return stateOf(s, REFUSED)?.state === "failed" ? s : undefined;
      },
      240_000,
    ).catch(explain);
    expect(stateOf(refused, REFUSED)?.reason).toMatch(/issuance is forbidden by policy/);
    expect(findCondition(refused.status, CONDITION_READY)?.status).toBe("True");
    expect(findCondition(refused.status, CONDITION_DEGRADED)?.status).toBe("False");
    expect((await getWithHost(`${cluster.ingressUrl}/`, builtIn)).status).toBe(200);
    expect(await https()).toBe(PAGE);
  }, 900_000);

  it("serves a shared site's custom domain from the pool over HTTPS with its own certificate, and redirects HTTP there", async () => {
    const tls = cluster.tls!;
    await tls.dns.setRecords(SHARED_DOMAIN, "A", ["127.0.0.1"]);
    const ns = await createSiteNamespace(clients.kc, "domains-shared");
    const builtIn = `${SITE}-${ns}.${TEST_BASE_DOMAIN}`;
    await clients.applySite(ns, SITE, { artifact: { url: artifact.url, digest }, hosts: [builtIn], domains: [SHARED_DOMAIN], serving: "shared" });
    const site = () => clients.getSite(ns, SITE);
    const stateOf = (s: StaticSite) => s.status?.domains?.find((d) => d.name === SHARED_DOMAIN);
    await waitFor("the site to be live on the pool", async () => (isDigestLive(await site(), digest) ? true : undefined), 240_000);
    const serving = await waitFor(
      "the custom domain to be served over HTTPS",
      async () => {
        const s = await site();
        return stateOf(s)?.state === "serving" ? s : undefined;
      },
      240_000,
    ).catch(async (err) => {
      console.log(JSON.stringify({ status: (await site()).status }, null, 1));
      throw err;
    });
    expect(stateOf(serving)?.reason).toBe("served over HTTPS");
    // The site has no pods, Ingress or Certificate of its own: all of it is the pool's.
    expect((await clients.networking.listNamespacedIngress({ namespace: ns })).items).toEqual([]);
    expect((await clients.apps.listNamespacedDeployment({ namespace: ns })).items).toEqual([]);

    await expectServedOverHttps(SHARED_DOMAIN, builtIn);
  }, 900_000);
});
