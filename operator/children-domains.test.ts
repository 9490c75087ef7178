import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { withAppliedHash } from "./child-drift";
import { ANNOTATION_TRAEFIK_MIDDLEWARES, certificateName, desiredChildren, type ChildConfig, type CustomDomains } from "./children";
import { childConfig, makeSite } from "./test-fixtures";

const tlsConfig: ChildConfig = { ...childConfig, tls: true, clusterIssuer: "letsencrypt" };
const site = () => makeSite({ hosts: ["blog-acme.sites.example.net"], domains: ["www.customer.test", "customer.test"] });
const domains = (over: Partial<CustomDomains> = {}): CustomDomains => ({
  granted: ["www.customer.test", "customer.test"],
  certified: [],
  certManager: true,
  ...over,
});

const ruleHosts = (ing: { spec?: { rules?: { host?: string }[] } } | undefined) => ing?.spec?.rules?.map((r) => r.host);

describe("custom domains' children", () => {
  it("ask for one Certificate per granted domain from the ClusterIssuer, owned by the site, with a Secret of its own", () => {
    const children = desiredChildren(site(), tlsConfig, ["blog-acme.sites.example.net"], domains());
    expect(children.certificates.map((c) => c.spec)).toEqual([
      {
        secretName: certificateName("blog", "www.customer.test"),
        dnsNames: ["www.customer.test"],
        issuerRef: { name: "letsencrypt", kind: "ClusterIssuer", group: "cert-manager.io" },
      },
      {
        secretName: certificateName("blog", "customer.test"),
        dnsNames: ["customer.test"],
        issuerRef: { name: "letsencrypt", kind: "ClusterIssuer", group: "cert-manager.io" },
      },
    ]);
    for (const cert of children.certificates) {
      expect(cert.metadata.ownerReferences?.[0]).toMatchObject({ kind: "StaticSite", uid: "uid-1", controller: true });
      expect(cert.metadata.name).toMatch(/^blog-domain-[0-9a-f]{12}$/);
    }
    expect(certificateName("blog", "www.customer.test")).not.toBe(certificateName("blog", "customer.test"));
  });

  it("ask for no Certificate without an issuer or without cert-manager, and none for refused domains", () => {
    expect(desiredChildren(site(), childConfig, [], domains()).certificates).toEqual([]);
    expect(desiredChildren(site(), tlsConfig, [], domains({ certManager: false })).certificates).toEqual([]);
    expect(desiredChildren(site(), tlsConfig, [], domains({ granted: ["customer.test"] })).certificates.map((c) => c.spec.dnsNames)).toEqual([
      ["customer.test"],
    ]);
  });

  it("serve domains without a Ready certificate over plain HTTP in the site's Ingress, outside its TLS section", () => {
    const children = desiredChildren(site(), tlsConfig, ["blog-acme.sites.example.net"], domains());
    expect(ruleHosts(children.ingress)).toEqual(["blog-acme.sites.example.net", "www.customer.test", "customer.test"]);
    expect(children.ingress?.spec?.tls).toEqual([{ hosts: ["blog-acme.sites.example.net"], secretName: "blog-tls" }]);
    expect(children.domainIngress).toBeUndefined();
  });

  it("move a domain to the domain Ingress, with TLS from its own Secret and the redirect, once its certificate is Ready", () => {
    const config = { ...tlsConfig, httpsRedirectMiddleware: "pagoda-https-redirect@file" };
    const children = desiredChildren(site(), config, ["blog-acme.sites.example.net"], domains({ certified: ["www.customer.test"] }));
    expect(ruleHosts(children.ingress)).toEqual(["blog-acme.sites.example.net", "customer.test"]);
    // The built-in address is never redirected: the middleware is on the domain Ingress only.
    expect(children.ingress?.metadata?.annotations?.[ANNOTATION_TRAEFIK_MIDDLEWARES]).toBeUndefined();
    expect(children.domainIngress?.metadata?.name).toBe("blog-domains");
    expect(ruleHosts(children.domainIngress)).toEqual(["www.customer.test"]);
    expect(children.domainIngress?.spec?.tls).toEqual([{ hosts: ["www.customer.test"], secretName: certificateName("blog", "www.customer.test") }]);
    expect(children.domainIngress?.metadata?.annotations).toEqual({ [ANNOTATION_TRAEFIK_MIDDLEWARES]: "pagoda-https-redirect@file" });
    expect(children.domainIngress?.spec?.ingressClassName).toBe("traefik");
    // No middleware configured: TLS, no redirect.
    expect(desiredChildren(site(), tlsConfig, [], domains({ certified: ["www.customer.test"] })).domainIngress?.metadata?.annotations).toBeUndefined();
  });

  it("with an issuer but TLS off, certify custom domains only: built-in hosts stay plain HTTP, with no annotation and no TLS section", () => {
    const config: ChildConfig = { ...childConfig, tls: false, clusterIssuer: "letsencrypt", httpsRedirectMiddleware: "pagoda-https-redirect@file" };
    const pending = desiredChildren(site(), config, ["blog-acme.sites.example.net"], domains());
    expect(pending.certificates.map((c) => c.spec.dnsNames)).toEqual([["www.customer.test"], ["customer.test"]]);
    expect(pending.ingress?.metadata?.annotations).toBeUndefined();
    expect(pending.ingress?.spec?.tls).toBeUndefined();
    const issued = desiredChildren(site(), config, ["blog-acme.sites.example.net"], domains({ certified: ["www.customer.test"] }));
    expect(ruleHosts(issued.ingress)).toEqual(["blog-acme.sites.example.net", "customer.test"]);
    expect(issued.ingress?.metadata?.annotations).toBeUndefined();
    expect(issued.ingress?.spec?.tls).toBeUndefined();
    expect(issued.domainIngress?.spec?.tls).toEqual([{ hosts: ["www.customer.test"], secretName: certificateName("blog", "www.customer.test") }]);
    expect(issued.domainIngress?.metadata?.annotations).toEqual({ [ANNOTATION_TRAEFIK_MIDDLEWARES]: "pagoda-https-redirect@file" });
  });

  it("ignore a certified name that is not granted", () => {
    const children = desiredChildren(site(), tlsConfig, [], domains({ granted: ["customer.test"], certified: ["www.customer.test"] }));
    expect(children.domainIngress).toBeUndefined();
    expect(ruleHosts(children.ingress)).toEqual(["customer.test"]);
  });

  it("give built-in hosts the wildcard Secret, without a per-site certificate, when one is configured", () => {
    const config = { ...tlsConfig, wildcardSecret: "sites-wildcard-tls" };
    const children = desiredChildren(site(), config, ["blog-acme.sites.example.net"], domains());
    expect(children.ingress?.spec?.tls).toEqual([{ hosts: ["blog-acme.sites.example.net"], secretName: "sites-wildcard-tls" }]);
    expect(children.ingress?.metadata?.annotations?.["cert-manager.io/cluster-issuer"]).toBeUndefined();
    // Custom domains still get their own certificates from the issuer.
    expect(children.certificates).toHaveLength(2);
  });

  it("keep Certificates but withdraw both Ingresses while suspended", () => {
    const suspended = makeSite({ suspend: true, domains: ["www.customer.test"] });
    const children = desiredChildren(suspended, tlsConfig, ["blog.example.com"], domains({ granted: ["www.customer.test"], certified: ["www.customer.test"] }));
    expect(children.ingress).toBeUndefined();
    expect(children.domainIngress).toBeUndefined();
    expect(children.certificates).toHaveLength(1);
  });

  it("change the applied hash of the Ingresses when a certificate becomes Ready", () => {
    const before = desiredChildren(site(), tlsConfig, [], domains());
    const after = desiredChildren(site(), tlsConfig, [], domains({ certified: ["customer.test"] }));
    const hash = (o: KubernetesObject | undefined) => (o ? withAppliedHash(o).metadata?.annotations?.["pagoda.dev/applied-hash"] : undefined);
    expect(hash(after.ingress)).not.toBe(hash(before.ingress));
    expect(hash(after.domainIngress)).toBeDefined();
  });

  it("serve only custom domains when the site has no built-in host", () => {
    const children = desiredChildren(makeSite({ hosts: [], domains: ["customer.test"] }), tlsConfig, [], domains({ granted: ["customer.test"] }));
    expect(ruleHosts(children.ingress)).toEqual(["customer.test"]);
    expect(children.ingress?.spec?.tls).toBeUndefined();
    expect(children.ingress?.metadata?.annotations).toBeUndefined();
  });
});
