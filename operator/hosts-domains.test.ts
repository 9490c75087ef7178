import { describe, expect, it } from "vitest";
import { decideDomains, domainForbidden, HostClaims, type DomainRules, type HostClaim } from "./hosts";

const rules: DomainRules = { baseDomain: "sites.example.net", dashboardHost: "pagoda.example.net" };

const claim = (namespace: string, name: string, createdAt: number, hosts: string[]): HostClaim => ({
  key: `${namespace}/${name}`,
  namespace,
  name,
  uid: `uid-${namespace}-${name}`,
  createdAt,
  hosts,
});

describe("domainForbidden", () => {
  it("refuses the base domain and every name under it, at any depth", () => {
    for (const name of ["sites.example.net", "blog-acme.sites.example.net", "a.b.sites.example.net"]) {
      expect(domainForbidden(name, rules), name).toMatch(/under the installation's domain sites\.example\.net/);
    }
  });

  it("refuses the dashboard's host and names under it", () => {
    expect(domainForbidden("pagoda.example.net", rules)).toBe("pagoda.example.net is the dashboard's own host");
    expect(domainForbidden("evil.pagoda.example.net", rules)).toMatch(/under the dashboard's host pagoda\.example\.net/);
  });

  it("allows other names, including ones that only end in the same letters", () => {
    for (const name of ["www.customer.test", "customer.test", "mysites.example.net", "notpagoda.example.net", "example.net"]) {
      expect(domainForbidden(name, rules), name).toBeUndefined();
    }
    expect(domainForbidden("pagoda.example.net", { ...rules, dashboardHost: undefined })).toBeUndefined();
  });
});

describe("decideDomains", () => {
  it("grants a domain nobody else holds, and refuses the forbidden ones with their reasons", () => {
    const claims = new HostClaims();
    const d = decideDomains("acme/blog", ["www.customer.test", "blog.sites.example.net", "pagoda.example.net"], rules, claims, () => true);
    expect(d.granted).toEqual(["www.customer.test"]);
    expect(d.refused.map((r) => r.name)).toEqual(["blog.sites.example.net", "pagoda.example.net"]);
    expect(d.refused[1]?.reason).toContain("dashboard");
  });

  it("leaves a domain with the older claim in another namespace, without naming that site", () => {
    const claims = new HostClaims();
    claims.set(claim("victim", "shop", 1_000, ["www.customer.test"]));
    claims.set(claim("attacker", "grab", 2_000, ["www.customer.test"]));
    const attacker = decideDomains("attacker/grab", ["www.customer.test"], rules, claims, () => true);
    expect(attacker.granted).toEqual([]);
    expect(attacker.refused).toEqual([{ name: "www.customer.test", reason: "www.customer.test is already served by another site" }]);
    expect(JSON.stringify(attacker)).not.toMatch(/victim|shop/);
    expect(decideDomains("victim/shop", ["www.customer.test"], rules, claims, () => true).granted).toEqual(["www.customer.test"]);
    // A claim outside Pagoda's namespaces holds nothing.
    expect(decideDomains("attacker/grab", ["www.customer.test"], rules, claims, (c) => c.namespace !== "victim").granted).toEqual(["www.customer.test"]);
    // The incumbent keeps it against an older claimant that asks later.
    const serving = (c: HostClaim) => c.key === "attacker/grab";
    expect(decideDomains("attacker/grab", ["www.customer.test"], rules, claims, () => true, serving).granted).toEqual(["www.customer.test"]);
  });

  it("lists a name written twice once", () => {
    const d = decideDomains("acme/blog", ["a.customer.test", "a.customer.test"], rules, new HostClaims(), () => true);
    expect(d).toEqual({ granted: ["a.customer.test"], refused: [] });
  });
});
