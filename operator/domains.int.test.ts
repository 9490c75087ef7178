// Custom domains (spec.domains) against a real API server: arbitration,
// cert-manager Certificates as owned children, the Ingresses that follow a
// certificate's Ready condition, and the status. There is no cert-manager
// controller on this control plane, so the test writes each Certificate's
// status the way cert-manager does; the real issuance from Pebble is the
// real-node tier's test.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  ApiextensionsV1Api,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Ingress,
} from "@kubernetes/client-node";
import pino from "pino";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "@/local-cluster/testing";
import { CONDITION_CERTIFICATES, CONDITION_DEGRADED, findCondition, type StaticSite, type StaticSiteDomainStatus } from "@/lib/staticsite/types";
import { ANNOTATION_TRAEFIK_MIDDLEWARES, certificateName, childNames, type Certificate } from "./children";
import type { OperatorConfig } from "./config";
import { startOperator, type RunningOperator } from "./controller";
import { createdAtMs } from "./hosts";
import { Clients, createSiteNamespace, httpCode, siteSpec, testOperatorConfig, TEST_BASE_DOMAIN, waitFor } from "./int-test-support";
import { poolDomainNames } from "./pool/domains";
import { POOL_NAME } from "./pool/objects";

const ISSUER = "pagoda-test-issuer";
const DASHBOARD_HOST = "dashboard.int-domains.test";
const MIDDLEWARE = "pagoda-https-redirect@file";
const CERTS = { group: "cert-manager.io", version: "v1", plural: "certificates" } as const;

// cert-manager's CRDs as its controller would install them, read from its Go
// module (the version local-cluster builds).
const VERSIONS = path.join(import.meta.dirname, "..", "local-cluster", "versions.env");

function certManagerCrdDir(): string {
  const version = /^CERT_MANAGER_VERSION=(\S+)$/m.exec(readFileSync(VERSIONS, "utf8"))?.[1];
  if (!version) throw new Error(`CERT_MANAGER_VERSION is missing from ${VERSIONS}`);
  const modCache = execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
  return path.join(modCache, "github.com", "cert-manager", `cert-manager@${version}`, "deploy", "crds");
}

/** The CRDs as objects; their Helm placeholders (labels only) dropped. */
function certManagerCrds(): KubernetesObject[] {
  const dir = certManagerCrdDir();
  const files = readdirSync(dir).filter((f) => /^crd-.*\.yaml$/.test(f));
  if (files.length === 0) throw new Error(`no cert-manager CRDs in ${dir}; local-cluster fetches the module when it builds cert-manager`);
  return files.flatMap((f) => {
    const text = readFileSync(path.join(dir, f), "utf8")
      .split("\n")
      .filter((line) => !line.includes("{{") && line !== "  labels:")
      .join("\n");
    return (loadAllYaml(text) as (KubernetesObject | null)[]).filter((d): d is KubernetesObject => d?.kind === "CustomResourceDefinition");
  });
}

async function installCertManagerCrds(kc: KubeConfig): Promise<void> {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const crds = certManagerCrds();
  for (const crd of crds) await objects.patch(crd, undefined, undefined, "pagoda-test", true, PatchStrategy.ServerSideApply);
  for (const crd of crds) {
    const name = crd.metadata!.name!;
    await waitFor(`CRD ${name} to be Established`, async () => {
      const live = await ext.readCustomResourceDefinition({ name });
      return live.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ? true : undefined;
    });
  }
}

/** An operator that has taken the lead, so that it reconciles. */
async function leadingOperator(config: OperatorConfig, opts?: Parameters<typeof startOperator>[1]): Promise<RunningOperator> {
  const operator = await startOperator(config, opts);
  await waitFor("the operator to lead", async () => (operator.isLeader() ? true : undefined));
  return operator;
}

/** With the issuer, the dashboard's host and the redirect middleware: what custom domains with TLS need. */
function certificatesConfig(kubeconfigPath: string, overrides: Partial<OperatorConfig> = {}): OperatorConfig {
  return testOperatorConfig(kubeconfigPath, {
    tls: true,
    clusterIssuer: ISSUER,
    dashboardHost: DASHBOARD_HOST,
    httpsRedirectMiddleware: MIDDLEWARE,
    siteScheme: "http",
    ...overrides,
  });
}

let seq = 0;
const domain = (label: string) => `${label}-${process.pid}-${++seq}.customer.test`;

function capturingLogger(): { log: pino.Logger; lines: () => { msg?: string; level?: number }[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      out.push(String(chunk));
      done();
    },
  });
  return { log: pino({ level: "info" }, stream), lines: () => out.flatMap((l) => l.split("\n").filter(Boolean)).map((l) => JSON.parse(l)) };
}

describe("custom domains against a real API server", () => {
  // A control plane of its own, without cert-manager at first: the run's
  // shared one may have the TLS tier's cert-manager, which would both keep
  // its CRDs and act on these Certificates itself.
  let own: TestCluster;
  let clients: Clients;
  let kubeconfigPath: string;

  const ingress = async (namespace: string, name: string): Promise<V1Ingress | undefined> => {
    try {
      return await clients.networking.readNamespacedIngress({ namespace, name });
    } catch (err) {
      if (httpCode(err) === 404) return undefined;
      throw err;
    }
  };
  const hostsOf = (ing: V1Ingress | undefined) => (ing?.spec?.rules ?? []).map((r) => r.host);
  const domainState = (site: StaticSite, name: string): StaticSiteDomainStatus | undefined => site.status?.domains?.find((d) => d.name === name);
  const certificate = async (namespace: string, name: string): Promise<Certificate | undefined> => {
    try {
      return (await clients.custom.getNamespacedCustomObject({ ...CERTS, namespace, name })) as Certificate;
    } catch (err) {
      if (httpCode(err) === 404) return undefined;
      throw err;
    }
  };
  /** What cert-manager writes when it has issued, or given up on, a certificate. */
  const writeCertificateStatus = async (namespace: string, name: string, status: NonNullable<Certificate["status"]>) => {
    await clients.custom.patchNamespacedCustomObjectStatus(
      { ...CERTS, namespace, name, body: { status } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  };
  const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const ready = () => ({
    conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "Certificate is up to date and has not expired", lastTransitionTime: now() }],
  });

  beforeAll(async () => {
    own = await startTestCluster();
    kubeconfigPath = own.kubeconfigPath;
    clients = Clients.fromFile(kubeconfigPath);
  });

  afterAll(async () => {
    await own?.stop();
  });

  describe("without cert-manager in the cluster", () => {
    let operator: RunningOperator;
    const logs = capturingLogger();

    beforeAll(async () => {
      operator = await leadingOperator(testOperatorConfig(kubeconfigPath, { tls: true, clusterIssuer: ISSUER, siteScheme: "http" }), { log: logs.log });
    });

    afterAll(async () => {
      await operator?.stop();
    });

    it("says so once, serves custom domains over plain HTTP, and keeps reconciling", async () => {
      const ns = await createSiteNamespace(clients.kc, "dom-nocm");
      const d1 = domain("plain");
      const d2 = domain("plain");
      const spec = siteSpec({ domains: [d1] });
      await clients.applySite(ns, "one", spec);
      await clients.applySite(ns, "two", siteSpec({ domains: [d2] }));
      for (const [name, d] of [
        ["one", d1],
        ["two", d2],
      ] as const) {
        const site = await waitFor(`${name}'s domain status`, async () => {
          const s = await clients.getSite(ns, name);
          return domainState(s, d) ? s : undefined;
        });
        expect(domainState(site, d)).toEqual({ name: d, state: "serving", reason: "served over plain HTTP: cert-manager is not installed in the cluster" });
        expect(findCondition(site.status, CONDITION_CERTIFICATES)).toMatchObject({ status: "False", reason: "CertManagerMissing" });
        expect(findCondition(site.status, CONDITION_DEGRADED)?.status).toBe("False");
        const ing = await ingress(ns, childNames(name).ingress);
        expect(hostsOf(ing)).toContain(d);
        expect((ing?.spec?.tls ?? []).flatMap((t) => t.hosts)).not.toContain(d);
      }
      await operator.idle();
      expect(operator.readiness().ready).toBe(true);
      const notices = logs.lines().filter((l) => l.msg?.startsWith("cert-manager is not installed"));
      expect(notices).toHaveLength(1);
      expect(logs.lines().filter((l) => (l.level ?? 0) >= 50)).toEqual([]);
      expect(await ingress(ns, childNames("one").domainIngress)).toBeUndefined();
    });
  });

  describe("with cert-manager's CRDs", () => {
    let operator: RunningOperator;

    beforeAll(async () => {
      await installCertManagerCrds(clients.kc);
      operator = await leadingOperator(certificatesConfig(kubeconfigPath));
    });

    afterAll(async () => {
      await operator?.stop();
    });

    it("asks for a Certificate per domain, moves a domain to TLS and the redirect once it is Ready, and reports a failed one", async () => {
      const ns = await createSiteNamespace(clients.kc, "dom-cert");
      const good = domain("good");
      const bad = domain("bad");
      const spec = siteSpec({ domains: [good, bad] });
      const builtIn = spec.hosts![0]!;
      await clients.applySite(ns, "shop", spec);
      const goodCert = certificateName("shop", good);
      const badCert = certificateName("shop", bad);

      const cert = await waitFor("the Certificate of the first domain", () => certificate(ns, goodCert));
      expect(cert.spec).toEqual({ secretName: goodCert, dnsNames: [good], issuerRef: { name: ISSUER, kind: "ClusterIssuer", group: "cert-manager.io" } });
      expect(cert.metadata.ownerReferences?.[0]).toMatchObject({ kind: "StaticSite", name: "shop", controller: true });
      await waitFor("the second Certificate", () => certificate(ns, badCert));
      const pending = await waitFor("pending domains in status", async () => {
        const s = await clients.getSite(ns, "shop");
        return s.status?.domains?.length === 2 ? s : undefined;
      });
      expect(pending.status?.domains?.map((d) => d.state)).toEqual(["pending-certificate", "pending-certificate"]);
      const plain = await ingress(ns, childNames("shop").ingress);
      expect(hostsOf(plain)).toEqual([builtIn, good, bad]);
      // Only the built-in host is in the TLS section: an unissued certificate cannot break it.
      expect(plain?.spec?.tls).toEqual([{ hosts: [builtIn], secretName: childNames("shop").tlsSecret }]);
      expect(plain?.metadata?.annotations?.[ANNOTATION_TRAEFIK_MIDDLEWARES]).toBeUndefined();

      await writeCertificateStatus(ns, goodCert, ready());
      const secure = await waitFor("the domain Ingress", async () => {
        const ing = await ingress(ns, childNames("shop").domainIngress);
        return hostsOf(ing).includes(good) ? ing : undefined;
      });
      expect(secure.spec?.tls).toEqual([{ hosts: [good], secretName: goodCert }]);
      expect(secure.metadata?.annotations?.[ANNOTATION_TRAEFIK_MIDDLEWARES]).toBe(MIDDLEWARE);
      expect(secure.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "StaticSite", name: "shop", controller: true });
      await waitFor("the site's Ingress without the certified domain", async () => {
        const hosts = hostsOf(await ingress(ns, childNames("shop").ingress));
        return hosts.includes(good) ? undefined : true;
      });
      await waitFor("the domain serving", async () => {
        const s = await clients.getSite(ns, "shop");
        return domainState(s, good)?.state === "serving" ? true : undefined;
      });

      const failure =
        'The certificate request has failed to complete and will be retried: Failed to wait for order resource "x" to become ready: order is in "invalid" state: ';
      await writeCertificateStatus(ns, badCert, {
        lastFailureTime: now(),
        conditions: [
          {
            type: "Ready",
            status: "False",
            reason: "DoesNotExist",
            message: "Issuing certificate as Secret does not exist",
            lastTransitionTime: now(),
          } as never,
          { type: "Issuing", status: "False", reason: "Failed", message: failure, lastTransitionTime: now() } as never,
        ],
      });
      const failed = await waitFor("the failed domain", async () => {
        const s = await clients.getSite(ns, "shop");
        return domainState(s, bad)?.state === "failed" ? s : undefined;
      });
      expect(domainState(failed, bad)?.reason).toContain('order is in "invalid" state');
      expect(findCondition(failed.status, CONDITION_CERTIFICATES)).toMatchObject({ status: "False", reason: "IssuanceFailed" });
      expect(findCondition(failed.status, CONDITION_DEGRADED)).toMatchObject({ status: "False", reason: "AsExpected" });
      expect(hostsOf(await ingress(ns, childNames("shop").ingress))).toEqual([builtIn, bad]);

      // Drift: a hand edit of a Certificate is undone, a deleted one comes back.
      await clients.custom.patchNamespacedCustomObject(
        { ...CERTS, namespace: ns, name: goodCert, body: { spec: { dnsNames: ["evil.example.org"] } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      await waitFor("the Certificate repaired", async () => ((await certificate(ns, goodCert))?.spec.dnsNames.join() === good ? true : undefined));
      await clients.custom.deleteNamespacedCustomObject({ ...CERTS, namespace: ns, name: badCert });
      await waitFor("the Certificate recreated", () => certificate(ns, badCert));

      // A domain taken off the spec loses its Certificate and its rule.
      await clients.applySite(ns, "shop", { ...spec, domains: [good] });
      await waitFor("the removed domain's Certificate gone", async () => ((await certificate(ns, badCert)) ? undefined : true));
      await waitFor("the removed domain off the Ingress", async () =>
        hostsOf(await ingress(ns, childNames("shop").ingress)).includes(bad) ? undefined : true,
      );
      const after = await waitFor("status without the removed domain", async () => {
        const s = await clients.getSite(ns, "shop");
        return s.status?.domains?.length === 1 ? s : undefined;
      });
      expect(after.status?.domains).toEqual([{ name: good, state: "serving", reason: "served over HTTPS" }]);
      expect(findCondition(after.status, CONDITION_CERTIFICATES)).toMatchObject({ status: "True", reason: "Issued" });
    });

    it("refuses a domain under the base domain: no Certificate, no rule, the reason in status", async () => {
      const ns = await createSiteNamespace(clients.kc, "dom-base");
      const underBase = `nobody-${process.pid}-${++seq}.${TEST_BASE_DOMAIN}`;
      await clients.applySite(ns, "grab", siteSpec({ domains: [underBase] }));
      const site = await waitFor("the refusal", async () => {
        const s = await clients.getSite(ns, "grab");
        return domainState(s, underBase) ? s : undefined;
      });
      expect(domainState(site, underBase)).toMatchObject({
        state: "refused",
        reason: expect.stringContaining(`under the installation's domain ${TEST_BASE_DOMAIN}`),
      });
      expect(await certificate(ns, certificateName("grab", underBase))).toBeUndefined();
      expect(hostsOf(await ingress(ns, childNames("grab").ingress))).not.toContain(underBase);
    });

    it("refuses the dashboard's host", async () => {
      const ns = await createSiteNamespace(clients.kc, "dom-dash");
      await clients.applySite(ns, "grab", siteSpec({ domains: [DASHBOARD_HOST] }));
      const site = await waitFor("the refusal", async () => {
        const s = await clients.getSite(ns, "grab");
        return domainState(s, DASHBOARD_HOST) ? s : undefined;
      });
      expect(domainState(site, DASHBOARD_HOST)).toEqual({ name: DASHBOARD_HOST, state: "refused", reason: `${DASHBOARD_HOST} is the dashboard's own host` });
      expect(await certificate(ns, certificateName("grab", DASHBOARD_HOST))).toBeUndefined();
      expect(hostsOf(await ingress(ns, childNames("grab").ingress))).not.toContain(DASHBOARD_HOST);
    });

    it("leaves a domain with another namespace's older claim", async () => {
      const victimNs = await createSiteNamespace(clients.kc, "dom-victim");
      const attackerNs = await createSiteNamespace(clients.kc, "dom-attacker");
      const shared = domain("shared");
      await clients.applySite(victimNs, "shop", siteSpec({ domains: [shared] }));
      await waitFor("the victim's Certificate", () => certificate(victimNs, certificateName("shop", shared)));
      // Creation timestamps have one-second resolution, and a tie goes to the namespace first in order.
      const victimCreated = createdAtMs((await clients.getSite(victimNs, "shop")).metadata.creationTimestamp);
      await waitFor("the clock past the victim's creation second", async () => (Date.now() >= victimCreated + 1_000 ? true : undefined));
      await clients.applySite(attackerNs, "grab", siteSpec({ domains: [shared] }));
      const site = await waitFor("the refusal", async () => {
        const s = await clients.getSite(attackerNs, "grab");
        return domainState(s, shared) ? s : undefined;
      });
      expect(domainState(site, shared)).toEqual({ name: shared, state: "refused", reason: `${shared} is already served by another site` });
      expect(JSON.stringify(site.status)).not.toContain(victimNs);
      expect(await certificate(attackerNs, certificateName("grab", shared))).toBeUndefined();
      expect(hostsOf(await ingress(attackerNs, childNames("grab").ingress))).not.toContain(shared);
      expect(hostsOf(await ingress(victimNs, childNames("shop").ingress))).toContain(shared);
    });
  });

  describe("a shared site's custom domains, with cert-manager's CRDs", () => {
    // No node: the pool's pods never run, so no replica serves and the sites say PoolUnavailable; what is
    // tested here is where their domains' Certificates and Ingresses go and that they leave with the site.
    const poolNamespace = "pagoda-serving";
    let operator: RunningOperator | undefined;
    const start = async () => {
      operator = await leadingOperator(
        certificatesConfig(kubeconfigPath, {
          pool: { image: "pagoda.local/pool:none", namespace: poolNamespace, replicas: 1, storeHostPath: undefined, storeMaxBytes: undefined },
        }),
      );
    };

    beforeAll(async () => {
      // Idempotent: the CRDs are there if the block above ran.
      await installCertManagerCrds(clients.kc);
      await start();
    });

    afterAll(async () => {
      await operator?.stop();
    });

    it("puts them in the pool namespace, sent to the pool, moves one to TLS when Ready, and removes all once the site is gone, even while the operator was down", async () => {
      const ns = await createSiteNamespace(clients.kc, "dom-shared");
      const good = domain("shared-good");
      const other = domain("shared-other");
      const spec = siteSpec({ serving: "shared", domains: [good, other] });
      await clients.applySite(ns, "shop", spec);
      const key = `${ns}/shop`;
      const names = poolDomainNames(key);
      const goodCert = certificateName(names.stem, good);
      const otherCert = certificateName(names.stem, other);

      const cert = await waitFor("the domain's Certificate in the pool namespace", () => certificate(poolNamespace, goodCert));
      expect(cert.spec).toEqual({ secretName: goodCert, dnsNames: [good], issuerRef: { name: ISSUER, kind: "ClusterIssuer", group: "cert-manager.io" } });
      expect(cert.metadata.ownerReferences).toBeUndefined();
      expect(cert.metadata.labels).toMatchObject({ "pagoda.dev/site-namespace": ns, "pagoda.dev/site": "shop" });
      await waitFor("the second Certificate", () => certificate(poolNamespace, otherCert));
      // Nothing of the kind in the site's own namespace.
      expect(await certificate(ns, certificateName("shop", good))).toBeUndefined();
      expect(await ingress(ns, childNames("shop").ingress)).toBeUndefined();
      const plain = await waitFor("the plain-HTTP Ingress in the pool namespace", () => ingress(poolNamespace, names.ingress));
      expect(hostsOf(plain)).toEqual([good, other]);
      expect(plain.spec?.rules?.map((r) => r.http?.paths?.[0]?.backend?.service?.name)).toEqual([POOL_NAME, POOL_NAME]);
      const pending = await waitFor("pending domains in status", async () => {
        const s = await clients.getSite(ns, "shop");
        return s.status?.domains?.length === 2 ? s : undefined;
      });
      expect(pending.status?.domains?.map((d) => d.state)).toEqual(["pending-certificate", "pending-certificate"]);

      await writeCertificateStatus(poolNamespace, goodCert, ready());
      const secure = await waitFor("the HTTPS Ingress in the pool namespace", async () => {
        const ing = await ingress(poolNamespace, names.domainIngress);
        return hostsOf(ing).includes(good) ? ing : undefined;
      });
      expect(secure.spec?.tls).toEqual([{ hosts: [good], secretName: goodCert }]);
      expect(secure.metadata?.annotations?.[ANNOTATION_TRAEFIK_MIDDLEWARES]).toBe(MIDDLEWARE);
      await waitFor("the domain serving", async () => (domainState(await clients.getSite(ns, "shop"), good)?.state === "serving" ? true : undefined));
      expect(hostsOf(await ingress(poolNamespace, names.ingress))).toEqual([other]);

      // A domain taken off the spec loses its Certificate and its rule.
      await clients.applySite(ns, "shop", { ...spec, domains: [good] });
      await waitFor("the removed domain's Certificate gone", async () => ((await certificate(poolNamespace, otherCert)) ? undefined : true));
      await waitFor("the plain Ingress gone with its last domain", async () => ((await ingress(poolNamespace, names.ingress)) ? undefined : true));

      // Deleted while no operator runs: the next one finds what the site left in the pool namespace and removes it.
      await operator!.stop();
      operator = undefined;
      await clients.deleteSite(ns, "shop");
      expect(await certificate(poolNamespace, goodCert)).toBeDefined();
      await start();
      await waitFor("the Certificate gone", async () => ((await certificate(poolNamespace, goodCert)) ? undefined : true));
      await waitFor("the HTTPS Ingress gone", async () => ((await ingress(poolNamespace, names.domainIngress)) ? undefined : true));
    });

    it("refuses a domain another tenant's shared site already holds: nothing of it in the pool namespace", async () => {
      const victimNs = await createSiteNamespace(clients.kc, "dom-shared-victim");
      const attackerNs = await createSiteNamespace(clients.kc, "dom-shared-attacker");
      const held = domain("shared-held");
      await clients.applySite(victimNs, "shop", siteSpec({ serving: "shared", domains: [held] }));
      const victim = poolDomainNames(`${victimNs}/shop`);
      await waitFor("the victim's Ingress", () => ingress(poolNamespace, victim.ingress));
      const victimCreated = createdAtMs((await clients.getSite(victimNs, "shop")).metadata.creationTimestamp);
      await waitFor("the clock past the victim's creation second", async () => (Date.now() >= victimCreated + 1_000 ? true : undefined));
      await clients.applySite(attackerNs, "grab", siteSpec({ serving: "shared", domains: [held] }));
      const site = await waitFor("the refusal", async () => {
        const s = await clients.getSite(attackerNs, "grab");
        return domainState(s, held) ? s : undefined;
      });
      expect(domainState(site, held)).toEqual({ name: held, state: "refused", reason: `${held} is already served by another site` });
      const attacker = poolDomainNames(`${attackerNs}/grab`);
      await operator!.idle();
      expect(await ingress(poolNamespace, attacker.ingress)).toBeUndefined();
      expect(await certificate(poolNamespace, certificateName(attacker.stem, held))).toBeUndefined();
      expect(hostsOf(await ingress(poolNamespace, victim.ingress))).toEqual([held]);
    });
  });
});
