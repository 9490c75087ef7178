import { readFileSync } from "node:fs";
import { loadYaml } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { crdYamlPath, renderCrdYaml } from "@/lib/staticsite/generate-crd";
import { staticSiteCrd } from "./crd";
import {
  DIGEST_RE,
  HOST_RE,
  NOT_FOUND_PAGE_RE,
  SITE_NAME_RE,
  STATICSITE_GROUP,
  STATICSITE_KIND,
  STATICSITE_PLURAL,
  STATICSITE_SHORT_NAME,
  STATICSITE_VERSION,
  isDigestLive,
  shortDigest,
  siteLabels,
  type StaticSite,
} from "./types";

const digest = `sha256:${"ab".repeat(32)}`;

describe("StaticSite CRD", () => {
  it("committed YAML is exactly what the TypeScript source generates (run tsx lib/staticsite/generate-crd.ts)", () => {
    expect(readFileSync(crdYamlPath, "utf8")).toBe(renderCrdYaml());
  });

  it("YAML parses back to the source object, schema extensions included", () => {
    const parsed = loadYaml<object>(renderCrdYaml());
    // JSON is YAML too, so the same parser reads the source object independently of the emitter.
    const expected = loadYaml<object>(JSON.stringify(staticSiteCrd));
    expect(parsed).toEqual(expected);
    const yaml = renderCrdYaml();
    expect(yaml).toContain("x-kubernetes-validations:");
    expect(yaml).toContain("x-kubernetes-list-type: set");
  });

  it("uses the shared names", () => {
    const spec = staticSiteCrd.spec;
    expect(spec.group).toBe(STATICSITE_GROUP);
    expect(spec.names.kind).toBe(STATICSITE_KIND);
    expect(spec.names.plural).toBe(STATICSITE_PLURAL);
    expect(spec.names.shortNames).toEqual([STATICSITE_SHORT_NAME]);
    expect(spec.versions[0].name).toBe(STATICSITE_VERSION);
    expect(spec.versions[0].subresources).toEqual({ status: {} });
  });
});

describe("StaticSite validation patterns", () => {
  it("accepts only sha256 digests in lowercase hex", () => {
    expect(DIGEST_RE.test(digest)).toBe(true);
    expect(DIGEST_RE.test(digest.toUpperCase())).toBe(false);
    expect(DIGEST_RE.test(`sha256:${"a".repeat(63)}`)).toBe(false);
    expect(DIGEST_RE.test(`md5:${"a".repeat(64)}`)).toBe(false);
  });

  it("accepts DNS names and refuses the rest", () => {
    for (const ok of ["example.com", "a.b.example.co", "x-1.example.org"]) expect(HOST_RE.test(ok), ok).toBe(true);
    for (const bad of ["localhost", "-a.com", "a-.com", "A.com", "a..com", "*.example.com", "a.com.", `${"a".repeat(64)}.com`]) {
      expect(HOST_RE.test(bad), bad).toBe(false);
    }
  });

  it("accepts safe absolute paths for the 404 page", () => {
    expect(NOT_FOUND_PAGE_RE.test("/404.html")).toBe(true);
    expect(NOT_FOUND_PAGE_RE.test("/errors/not-found.html")).toBe(true);
    for (const bad of ["404.html", "/a b.html", "/x;rm", "/$uri", '/"q"']) expect(NOT_FOUND_PAGE_RE.test(bad), bad).toBe(false);
  });

  it("site names are DNS-1035 labels", () => {
    expect(SITE_NAME_RE.test("blog")).toBe(true);
    expect(SITE_NAME_RE.test("1blog")).toBe(false);
    expect(SITE_NAME_RE.test("blog.x")).toBe(false);
  });
});

describe("StaticSite helpers", () => {
  const site: StaticSite = {
    apiVersion: "pagoda.dev/v1alpha1",
    kind: "StaticSite",
    metadata: { name: "blog", namespace: "acme", generation: 3 },
    spec: { artifact: { url: "https://x.example/a.tgz", digest } },
  };

  it("labels default the tenant to the namespace", () => {
    expect(siteLabels(site)).toEqual({
      "app.kubernetes.io/managed-by": "pagoda",
      "app.kubernetes.io/name": "blog",
      "pagoda.dev/tenant": "acme",
    });
    expect(siteLabels({ ...site, spec: { ...site.spec, tenant: "t1" } })["pagoda.dev/tenant"]).toBe("t1");
  });

  it("shortDigest keeps 12 hex digits", () => {
    expect(shortDigest(digest)).toBe("abababababab");
  });

  it("a digest is live only when current, observed and Ready", () => {
    const ready = {
      type: "Ready" as const,
      status: "True" as const,
      lastTransitionTime: "2026-01-01T00:00:00Z",
      reason: "Available",
      message: "",
    };
    expect(isDigestLive(site, digest)).toBe(false);
    const live = { ...site, status: { observedGeneration: 3, currentDigest: digest, conditions: [ready] } };
    expect(isDigestLive(live, digest)).toBe(true);
    expect(isDigestLive({ ...live, metadata: { ...live.metadata, generation: 4 } }, digest)).toBe(false);
    expect(isDigestLive({ ...live, status: { ...live.status, conditions: [{ ...ready, status: "False" }] } }, digest)).toBe(false);
  });
});
