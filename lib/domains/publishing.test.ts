import { describe, expect, it } from "vitest";
import { InvalidSiteError } from "@/lib/publishing/errors";
import { desiredStaticSite, type DesiredSite } from "@/lib/publishing/static-sites";
import { staticSiteDrift } from "@/lib/publishing/site-drift";

const digest = `sha256:${"ab".repeat(32)}`;

function input(overrides: Partial<DesiredSite> = {}): DesiredSite {
  return {
    siteId: "clx0site00001",
    tenantSlug: "alice-k3x9q2",
    siteName: "blog",
    artifact: { url: `https://dash.example.com/api/artifacts/${"ab".repeat(32)}?sig=k1.abc`, digest },
    baseDomain: "pagoda.example.com",
    spa: false,
    notFoundPage: null,
    ...overrides,
  };
}

describe("verified custom domains in the StaticSite", () => {
  it("writes them as spec.domains, sorted, beside the built-in host", () => {
    const ss = desiredStaticSite(input({ domains: ["www.customer.test", "customer.test"] }));
    expect(ss.spec.domains).toEqual(["customer.test", "www.customer.test"]);
    expect(ss.spec.hosts).toEqual(["blog-alice-k3x9q2.pagoda.example.com"]);
  });

  it("leaves the field out when there are none", () => {
    expect("domains" in desiredStaticSite(input()).spec).toBe(false);
    expect("domains" in desiredStaticSite(input({ domains: [] })).spec).toBe(false);
  });

  it("refuses a name the API server would refuse, and more names than fit", () => {
    expect(() => desiredStaticSite(input({ domains: ["Bücher.de"] }))).toThrow(InvalidSiteError);
    expect(() => desiredStaticSite(input({ domains: Array.from({ length: 21 }, (_, i) => `d${i}.customer.test`) }))).toThrow(/at most 20/);
  });

  it("counts a domain the live object still has but the site no longer does as drift, so removal takes it off", () => {
    const live = desiredStaticSite(input({ domains: ["www.customer.test"] }));
    expect(staticSiteDrift(desiredStaticSite(input({ domains: ["www.customer.test"] })), live)).toEqual([]);
    expect(staticSiteDrift(desiredStaticSite(input()), live)).toEqual(["spec.domains"]);
    expect(staticSiteDrift(desiredStaticSite(input({ domains: ["a.customer.test", "www.customer.test"] })), live)).toEqual(["spec.domains"]);
  });
});
