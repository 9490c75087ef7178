import { describe, expect, it } from "vitest";
import type { StaticSite } from "@/lib/k8s/staticsite";
import { foreignSpecFields, specDefaults, staticSiteDrift } from "./site-drift";
import { desiredStaticSite } from "./sites";

const desired = desiredStaticSite({
  siteId: "site1",
  tenantSlug: "acme",
  siteName: "blog",
  artifact: { url: "https://dash.example.com/a", digest: `sha256:${"1".repeat(64)}` },
  baseDomain: "example.com",
});

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
  it("reads the defaults from the CRD", () => {
    expect(specDefaults()).toEqual({ replicas: 1 });
  });

  it("finds nothing when only defaults, extra labels, server metadata and status differ", () => {
    expect(staticSiteDrift(desired, stored())).toEqual([]);
  });

  it("names each drifted field", () => {
    expect(staticSiteDrift(desired, stored((ss) => (ss.spec.artifact.digest = `sha256:${"2".repeat(64)}`)))).toEqual(["spec.artifact"]);
    expect(staticSiteDrift(desired, stored((ss) => (ss.spec.hosts = ["other.example.com"])))).toEqual(["spec.hosts"]);
    expect(staticSiteDrift(desired, stored((ss) => delete ss.metadata.labels?.["pagoda.dev/site-id"])))
      .toEqual(["metadata.labels.pagoda.dev/site-id"]);
  });

  it("treats host order as significant (the operator's URL comes from the first)", () => {
    const two = structuredClone(desired) as StaticSite;
    two.spec.hosts = ["a.example.com", "b.example.com"];
    const live = structuredClone(two) as StaticSite;
    live.spec.hosts = ["b.example.com", "a.example.com"];
    expect(staticSiteDrift(two, live)).toEqual(["spec.hosts"]);
  });

  it("reports spec fields set by hand, including a non-default replicas", () => {
    const live = stored((ss) => {
      ss.spec.suspend = true;
      ss.spec.replicas = 3;
    });
    expect(foreignSpecFields(desired, live)).toEqual(["replicas", "suspend"]);
    expect(staticSiteDrift(desired, live)).toEqual(["spec.replicas", "spec.suspend"]);
  });
});
