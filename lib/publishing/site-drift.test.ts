import { describe, expect, it } from "vitest";
import type { StaticSite } from "@/lib/staticsite/types";
import { foreignOwnedExtras, staticSiteDrift } from "./site-drift";
import { desiredStaticSite } from "./static-sites";

const siteInput = {
  siteId: "site1",
  tenantSlug: "acme",
  siteName: "blog",
  artifact: { url: "https://dash.example.com/a", digest: `sha256:${"1".repeat(64)}` },
  baseDomain: "example.com",
  spa: false,
  notFoundPage: null,
};
const desired = desiredStaticSite(siteInput);

/** What the API server stores for `desired`: defaults filled in, server metadata added. */
function stored(patch: (ss: StaticSite) => void = () => undefined): StaticSite {
  const ss = structuredClone(desired) as StaticSite;
  ss.spec.replicas = 1;
  ss.metadata = { ...ss.metadata, uid: "u1", resourceVersion: "42", generation: 1, labels: { ...ss.metadata.labels, team: "x" } };
  ss.status = { observedGeneration: 1, url: "https://blog-acme.example.com" };
  patch(ss);
  return ss;
}

describe("staticSiteDrift", () => {
  it("finds nothing when only defaults, extra labels, server metadata and status differ", () => {
    expect(staticSiteDrift(desired, stored())).toEqual([]);
  });

  it("names each drifted field", () => {
    expect(
      staticSiteDrift(
        desired,
        stored((ss) => (ss.spec.artifact.digest = `sha256:${"2".repeat(64)}`)),
      ),
    ).toEqual(["spec.artifact"]);
    expect(
      staticSiteDrift(
        desired,
        stored((ss) => (ss.spec.hosts = ["other.example.com"])),
      ),
    ).toEqual(["spec.hosts"]);
    expect(
      staticSiteDrift(
        desired,
        stored((ss) => delete ss.metadata.labels?.["pagoda.dev/site-id"]),
      ),
    ).toEqual(["metadata.labels.pagoda.dev/site-id"]);
  });

  it("wants its own host present, wherever other managers put theirs", () => {
    const host = desired.spec.hosts?.[0] as string;
    expect(
      staticSiteDrift(
        desired,
        stored((ss) => (ss.spec.hosts = ["www.example.org", host])),
      ),
    ).toEqual([]);
    expect(
      staticSiteDrift(
        desired,
        stored((ss) => (ss.spec.hosts = ["www.example.org"])),
      ),
    ).toEqual(["spec.hosts"]);
    expect(
      staticSiteDrift(
        desired,
        stored((ss) => delete ss.spec.hosts),
      ),
    ).toEqual(["spec.hosts"]);
  });

  it("leaves fields the dashboard does not write to whoever set them", () => {
    const live = stored((ss) => {
      ss.spec.suspend = true;
      ss.spec.replicas = 3;
    });
    expect(staticSiteDrift(desired, live)).toEqual([]);
  });

  it("owns spa, notFoundPage and rules: a hand edit of any of them, or one added where the site has none, is drift", () => {
    expect(
      staticSiteDrift(
        desired,
        stored((ss) => (ss.spec.spa = true)),
      ),
    ).toEqual(["spec.spa"]);
    expect(
      staticSiteDrift(
        desired,
        stored((ss) => delete ss.spec.spa),
      ),
    ).toEqual(["spec.spa"]);
    expect(
      staticSiteDrift(
        desired,
        stored((ss) => (ss.spec.notFoundPage = "/404.html")),
      ),
    ).toEqual(["spec.notFoundPage"]);
    expect(
      staticSiteDrift(
        desired,
        stored((ss) => (ss.spec.rules = { redirects: "/a /b" })),
      ),
    ).toEqual(["spec.rules"]);

    const withRules = desiredStaticSite({
      siteId: "site1",
      tenantSlug: "acme",
      siteName: "blog",
      artifact: { url: "https://dash.example.com/a", digest: `sha256:${"1".repeat(64)}` },
      baseDomain: "example.com",
      spa: false,
      notFoundPage: "/404.html",
      rules: { redirects: "/a /b 302\n", headers: null },
    });
    const live = structuredClone(withRules) as StaticSite;
    expect(staticSiteDrift(withRules, live)).toEqual([]);
    live.spec.rules = { redirects: "/a /b 302\n", headers: "/*\n  X-A: 1\n" };
    expect(staticSiteDrift(withRules, live)).toEqual(["spec.rules"]);
    live.spec.rules = { redirects: "/a /c 302\n" };
    expect(staticSiteDrift(withRules, live)).toEqual(["spec.rules"]);
    live.spec.notFoundPage = "/other.html";
    expect(staticSiteDrift(withRules, live)).toEqual(["spec.notFoundPage", "spec.rules"]);
  });

  it("owns serving: shared set by hand on a dedicated site is drift, and so is a shared site's mode removed or changed", () => {
    expect(
      staticSiteDrift(
        desired,
        stored((ss) => (ss.spec.serving = "shared")),
      ),
    ).toEqual(["spec.serving"]);
    const shared = desiredStaticSite({ ...siteInput, serving: "shared" });
    expect(staticSiteDrift(shared, structuredClone(shared) as StaticSite)).toEqual([]);
    const live = structuredClone(shared) as StaticSite;
    delete live.spec.serving;
    expect(staticSiteDrift(shared, live)).toEqual(["spec.serving"]);
    live.spec.serving = "dedicated";
    expect(staticSiteDrift(shared, live)).toEqual(["spec.serving"]);
  });

  it("names the left-out fields another manager holds, which an apply would not remove", () => {
    const managed = (manager: string, spec: Record<string, unknown>) => ({ manager, operation: "Update", fieldsV1: { "f:spec": spec } });
    const live = stored((ss) => {
      ss.spec.notFoundPage = "/404.html";
      ss.spec.rules = { headers: "/*\n  X-A: 1\n" };
      ss.metadata.managedFields = [
        { ...managed("pagoda-dashboard", { "f:notFoundPage": {} }), operation: "Apply" },
        managed("kubectl-edit", { "f:rules": { "f:headers": {} } }),
      ];
    });
    expect(foreignOwnedExtras(desired, live, "pagoda-dashboard")).toEqual([["rules"]]);
    const mine = stored((ss) => {
      ss.spec.notFoundPage = "/404.html";
      ss.metadata.managedFields = [{ ...managed("pagoda-dashboard", { "f:notFoundPage": {} }), operation: "Apply" }];
    });
    expect(foreignOwnedExtras(desired, mine, "pagoda-dashboard")).toEqual([]);
  });
});
