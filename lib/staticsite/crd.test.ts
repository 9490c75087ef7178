import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { crdYamlPath, renderCrdYaml } from "@/lib/staticsite/generate-crd";
import { staticSiteCrd } from "./crd";
import { crdSchemaOf, specSchema, statusSchema } from "./schema";
import {
  DIGEST_RE,
  REPLICAS_MAX,
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
  type StaticSiteSpec,
} from "./types";

const digest = `sha256:${"ab".repeat(32)}`;

describe("StaticSite CRD", () => {
  it("committed YAML is exactly what the TypeScript source generates (run tsx lib/staticsite/generate-crd.ts)", () => {
    expect(readFileSync(crdYamlPath, "utf8")).toBe(renderCrdYaml());
  });

  it("YAML parses back to the source object, schema extensions included", () => {
    // Parsed as YAML 1.1, as the API server does, so a string that 1.1 reads as a boolean would show up here.
    const parsed: unknown = parse(readFileSync(crdYamlPath, "utf8"), { version: "1.1" });
    expect(parsed).toEqual(JSON.parse(JSON.stringify(staticSiteCrd)));
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

describe("StaticSite schema and CRD agree", () => {
  const openApi = staticSiteCrd.spec.versions[0].schema.openAPIV3Schema;

  it("the CRD's spec and status are the zod schemas, in Kubernetes' structural form", () => {
    expect(openApi.properties.spec).toEqual(crdSchemaOf(specSchema));
    expect(openApi.properties.status).toEqual(crdSchemaOf(statusSchema));
    const yaml = renderCrdYaml();
    expect(yaml).not.toContain("$schema");
    expect(yaml).not.toContain(String(Number.MAX_SAFE_INTEGER));
    expect(yaml).not.toContain("\\/");
  });

  it("a spec the types allow but the rules refuse is refused by the same schema the CRD is made of", () => {
    const spec: StaticSiteSpec = { artifact: { url: "https://x.example/a.tgz", digest }, replicas: REPLICAS_MAX + 1 };
    expect(specSchema.safeParse(spec).success).toBe(false);
    expect(specSchema.safeParse({ ...spec, replicas: REPLICAS_MAX }).success).toBe(true);
    expect(specSchema.safeParse({ ...spec, replicas: undefined, hosts: ["Not A Host"] }).success).toBe(false);
  });
});
