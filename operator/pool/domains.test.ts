import { describe, expect, it } from "vitest";
import { ANNOTATION_TRAEFIK_MIDDLEWARES, certificateName, type ChildConfig, type CustomDomains } from "../children";
import { childConfig, makeSite } from "../test-fixtures";
import { desiredPoolDomainObjects, ownsPoolDomainObject, poolDomainNames, poolDomainOwner, poolDomainStem } from "./domains";
import { POOL_NAME } from "./objects";

const POOL_NS = "pagoda-serving";
const config: ChildConfig = { ...childConfig, tls: true, clusterIssuer: "letsencrypt", httpsRedirectMiddleware: "pagoda-https-redirect@file" };
const site = (over = {}) => makeSite({ serving: "shared", hosts: ["blog-acme.sites.example.net"], domains: ["www.customer.test", "customer.test"], ...over });
const domains = (over: Partial<CustomDomains> = {}): CustomDomains => ({
  granted: ["www.customer.test", "customer.test"],
  certified: [],
  certManager: true,
  ...over,
});
const key = () => `${site().metadata.namespace}/${site().metadata.name}`;

describe("a shared site's custom domain objects in the pool namespace", () => {
  it("are named from a digest of the site's key, differ between namespaces, and tell whose they are by labels alone", () => {
    const objects = desiredPoolDomainObjects(site(), config, POOL_NS, domains());
    const stem = poolDomainStem(key());
    expect(stem).toMatch(/^site-[0-9a-f]{16}$/);
    expect(poolDomainStem("other/blog")).not.toBe(stem);
    expect(objects.ingress?.metadata?.name).toBe(poolDomainNames(key()).ingress);
    for (const obj of [objects.ingress!, ...objects.certificates]) {
      expect(obj.metadata?.namespace).toBe(POOL_NS);
      expect(obj.metadata?.ownerReferences).toBeUndefined();
      expect(poolDomainOwner(obj)).toBe(key());
      expect(ownsPoolDomainObject(key(), obj)).toBe(true);
      expect(ownsPoolDomainObject("other/blog", obj)).toBe(false);
      expect(obj.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("pagoda");
      // Not the name label of a site's children: the pool namespace's events must not be taken for a site named like the stem.
      expect(obj.metadata?.labels?.["app.kubernetes.io/name"]).toBeUndefined();
    }
    expect(poolDomainOwner({ metadata: { name: POOL_NAME, labels: { "app.kubernetes.io/name": POOL_NAME } } })).toBeUndefined();
  });

  it("serve domains without a Ready certificate over plain HTTP, sent to the pool's Service, and no built-in host", () => {
    const { ingress, domainIngress, certificates } = desiredPoolDomainObjects(site(), config, POOL_NS, domains());
    expect(ingress?.spec?.rules?.map((r) => r.host)).toEqual(["www.customer.test", "customer.test"]);
    expect(ingress?.spec?.tls).toBeUndefined();
    for (const rule of ingress?.spec?.rules ?? []) expect(rule.http?.paths?.[0]?.backend).toEqual({ service: { name: POOL_NAME, port: { name: "http" } } });
    expect(domainIngress).toBeUndefined();
    expect(certificates.map((c) => [c.metadata.name, c.spec.secretName, c.spec.dnsNames])).toEqual([
      [certificateName(poolDomainStem(key()), "www.customer.test"), certificateName(poolDomainStem(key()), "www.customer.test"), ["www.customer.test"]],
      [certificateName(poolDomainStem(key()), "customer.test"), certificateName(poolDomainStem(key()), "customer.test"), ["customer.test"]],
    ]);
  });

  it("move a domain with a Ready certificate to the HTTPS Ingress, with its Secret and the redirect", () => {
    const { ingress, domainIngress } = desiredPoolDomainObjects(site(), config, POOL_NS, domains({ certified: ["customer.test"] }));
    expect(ingress?.spec?.rules?.map((r) => r.host)).toEqual(["www.customer.test"]);
    expect(domainIngress?.metadata?.name).toBe(poolDomainNames(key()).domainIngress);
    expect(domainIngress?.metadata?.annotations?.[ANNOTATION_TRAEFIK_MIDDLEWARES]).toBe("pagoda-https-redirect@file");
    expect(domainIngress?.spec?.tls).toEqual([{ hosts: ["customer.test"], secretName: certificateName(poolDomainStem(key()), "customer.test") }]);
    expect(domainIngress?.spec?.rules?.[0]?.http?.paths?.[0]?.backend?.service?.name).toBe(POOL_NAME);
  });

  it("keep the Certificates and drop both Ingresses while the site is suspended; no Certificate without cert-manager", () => {
    const suspended = desiredPoolDomainObjects(site({ suspend: true }), config, POOL_NS, domains({ certified: ["customer.test"] }));
    expect(suspended.ingress).toBeUndefined();
    expect(suspended.domainIngress).toBeUndefined();
    expect(suspended.certificates).toHaveLength(2);
    const plain = desiredPoolDomainObjects(site(), config, POOL_NS, domains({ certManager: false }));
    expect(plain.certificates).toEqual([]);
    expect(plain.ingress?.spec?.rules).toHaveLength(2);
    expect(desiredPoolDomainObjects(site(), config, POOL_NS, domains({ granted: [] })).ingress).toBeUndefined();
  });
});
