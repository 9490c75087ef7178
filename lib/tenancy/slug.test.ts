import { describe, expect, it } from "vitest";
import { tenantNamespace, tenantOfNamespace, tenantSlugFromEmail } from "@/lib/tenancy/slug";
import { hostLabelFor } from "@/lib/sites/url";

const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

describe("tenant namespaces", () => {
  it("names the tenant of its own namespace and of no other", () => {
    expect(tenantOfNamespace(tenantNamespace("alice-k3x9q2"))).toBe("alice-k3x9q2");
    expect(tenantOfNamespace(tenantNamespace("pagoda-x"))).toBe("pagoda-x");
    for (const other of ["kube-system", "pagoda-", "pagoda", "xpagoda-alice", "default"]) expect(tenantOfNamespace(other)).toBeNull();
  });
});

describe("tenant slugs", () => {
  it("keeps a readable stem and adds a random suffix", () => {
    expect(tenantSlugFromEmail("Alice.Smith+tag@example.com", () => 0)).toBe("alice-smith-aaaaaa");
  });

  it.each(["ÄÖÜ@example.com", "---@example.com", "a".repeat(64) + "@example.com", "x.y.z.w.v.u.t.s@example.com"])(
    "always gives a short DNS label for %j",
    (email) => {
      const slug = tenantSlugFromEmail(email);
      expect(slug).toMatch(dnsLabel);
      expect(slug.length).toBeLessThanOrEqual(19);
    },
  );

  it("leaves room for the longest site name in one host label", () => {
    const label = hostLabelFor("a".repeat(40), tenantSlugFromEmail("a".repeat(64) + "@example.com"));
    expect(label).toMatch(dnsLabel);
    expect(tenantNamespace(tenantSlugFromEmail("someone@example.com"))).toMatch(dnsLabel);
  });
});
