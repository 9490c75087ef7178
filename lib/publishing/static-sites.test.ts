import { describe, expect, it } from "vitest";
import { DIGEST_RE, HOST_RE, siteLabels } from "@/lib/staticsite/types";
import { InvalidSiteError } from "./errors";
import { desiredStaticSite, namespaceNeedsApply, tenantNamespaceLabels, type DesiredSite } from "./static-sites";

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

describe("desiredStaticSite", () => {
  it("builds the StaticSite in the tenant's namespace with host, tenant and labels", () => {
    const ss = desiredStaticSite(input());
    expect(ss).toEqual({
      apiVersion: "pagoda.dev/v1alpha1",
      kind: "StaticSite",
      metadata: {
        name: "blog",
        namespace: "pagoda-alice-k3x9q2",
        labels: {
          "app.kubernetes.io/managed-by": "pagoda",
          "app.kubernetes.io/name": "blog",
          "pagoda.dev/tenant": "alice-k3x9q2",
          "pagoda.dev/site-id": "clx0site00001",
        },
      },
      spec: {
        artifact: { url: input().artifact.url, digest },
        hosts: ["blog-alice-k3x9q2.pagoda.example.com"],
        tenant: "alice-k3x9q2",
        spa: false,
      },
    });
    // The operator labels children the same way; the labels must agree.
    expect(ss.metadata.labels).toEqual(expect.objectContaining(siteLabels(ss)));
    expect(HOST_RE.test(ss.spec.hosts?.[0] ?? "")).toBe(true);
    expect(DIGEST_RE.test(ss.spec.artifact.digest)).toBe(true);
  });

  it("uses the row's stored host label when given", () => {
    expect(desiredStaticSite(input({ hostLabel: "blog-alice-k3x9q2" })).spec.hosts).toEqual(["blog-alice-k3x9q2.pagoda.example.com"]);
    expect(desiredStaticSite(input({ hostLabel: "legacy-name" })).spec.hosts).toEqual(["legacy-name.pagoda.example.com"]);
  });

  it("carries the row's spa and 404 page, and no notFoundPage when the row has none", () => {
    expect(desiredStaticSite(input({ spa: true })).spec).toMatchObject({ spa: true });
    expect(desiredStaticSite(input({ spa: true })).spec).not.toHaveProperty("notFoundPage");
    expect(desiredStaticSite(input({ notFoundPage: "/404.html" })).spec).toMatchObject({ spa: false, notFoundPage: "/404.html" });
  });

  it("writes serving only for a shared site: a dedicated site's object reads as it did before the pool", () => {
    expect(desiredStaticSite(input({ serving: "shared" })).spec.serving).toBe("shared");
    expect(desiredStaticSite(input({ serving: "dedicated" })).spec).not.toHaveProperty("serving");
    expect(desiredStaticSite(input({ serving: "dedicated" }))).toEqual(desiredStaticSite(input()));
  });

  it("carries recent deploys as previews, and refuses a list the API server would", () => {
    const other = `sha256:${"cd".repeat(32)}`;
    const previews = [
      { url: "https://dash.example.com/a1", digest },
      { url: "https://dash.example.com/a2", digest: other },
    ];
    expect(desiredStaticSite(input({ previews })).spec.previews).toEqual(previews);
    expect(desiredStaticSite(input({ previews: [] })).spec).not.toHaveProperty("previews");
    expect(() => desiredStaticSite(input({ previews: [previews[0]!, previews[0]!] }))).toThrow(/lists a digest twice/);
    expect(() => desiredStaticSite(input({ previews: [{ url: "/relative", digest }] }))).toThrow(InvalidSiteError);
    const many = Array.from({ length: 21 }, (_, i) => ({ url: `https://dash.example.com/${i}`, digest: `sha256:${i.toString(16).padStart(64, "0")}` }));
    expect(() => desiredStaticSite(input({ previews: many }))).toThrow(/at most 20/);
  });

  it("is deterministic: the same row gives the same object", () => {
    expect(desiredStaticSite(input())).toEqual(desiredStaticSite(input()));
  });

  it.each<[string, Partial<DesiredSite>, string]>([
    ["digest without prefix", { artifact: { url: "https://x.example.com/a", digest: "ab".repeat(32) } }, "artifact.digest"],
    ["upper-case digest", { artifact: { url: "https://x.example.com/a", digest: `sha256:${"AB".repeat(32)}` } }, "artifact.digest"],
    ["relative artifact URL", { artifact: { url: "/api/artifacts/x", digest } }, "artifact.url"],
    ["artifact URL with a space", { artifact: { url: "https://x.example.com/a b", digest } }, "artifact.url"],
    ["site name with a capital", { siteName: "Blog" }, "siteName"],
    ["site name starting with a digit", { siteName: "1blog" }, "siteName"],
    ["site name of 41 characters", { siteName: `a${"b".repeat(40)}` }, "siteName"],
    ["tenant with an underscore", { tenantSlug: "alice_1" }, "tenantSlug"],
    ["tenant making a namespace over 63 characters", { tenantSlug: "a".repeat(60) }, "tenantSlug"],
    ["site id with a slash", { siteId: "a/b" }, "siteId"],
    ["empty site id", { siteId: "" }, "siteId"],
    ["host label over 63 characters", { siteName: "s".repeat(40), tenantSlug: "t".repeat(30) }, "host"],
    ["base domain with upper case", { baseDomain: "Example.com" }, "host"],
    ["host label with a dot", { hostLabel: "a.b-" }, "host"],
    ["404 page with spa", { spa: true, notFoundPage: "/404.html" }, "notFoundPage"],
    ["relative 404 page", { notFoundPage: "404.html" }, "notFoundPage"],
    ["404 page climbing out", { notFoundPage: "/a/../../etc/passwd" }, "notFoundPage"],
    ["404 page naming a directory", { notFoundPage: "/errors/" }, "notFoundPage"],
    ["404 page with a space", { notFoundPage: "/not found.html" }, "notFoundPage"],
  ])("refuses %s", (_what, overrides, field) => {
    let caught: unknown;
    try {
      desiredStaticSite(input(overrides));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidSiteError);
    expect((caught as InvalidSiteError).field).toBe(field);
  });
});

describe("namespaceNeedsApply", () => {
  it("is false only when all of our labels are there", () => {
    const labels = tenantNamespaceLabels("acme");
    expect(namespaceNeedsApply({ metadata: { name: "pagoda-acme", labels: { ...labels, other: "x" } } }, "acme")).toBe(false);
    expect(namespaceNeedsApply({ metadata: { name: "pagoda-acme" } }, "acme")).toBe(true);
    expect(namespaceNeedsApply({ metadata: { name: "pagoda-acme", labels: { ...labels, "pagoda.dev/tenant": "other" } } }, "acme")).toBe(true);
    // A namespace from before Pod Security labels were written gets them.
    const older = Object.fromEntries(Object.entries(labels).filter(([k]) => k !== "pod-security.kubernetes.io/enforce"));
    expect(namespaceNeedsApply({ metadata: { name: "pagoda-acme", labels: older } }, "acme")).toBe(true);
    expect(labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "v1.35" });
  });
});
