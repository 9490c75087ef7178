import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadAllYaml, type V1Ingress } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config";
import { DEFAULT_BODY_LIMIT } from "@/lib/http/body";
import { loadConfig } from "@/operator/config";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

async function objectsOf(file: string): Promise<{ kind?: string; metadata?: { name?: string }; data?: Record<string, string> }[]> {
  return loadAllYaml(await readFile(path.join(root, "deploy/kustomize", file), "utf8"));
}

async function ingresses(file: string): Promise<Map<string, V1Ingress>> {
  const objects = await objectsOf(file);
  return new Map(objects.filter((o): o is V1Ingress => o?.kind === "Ingress").map((o) => [o.metadata!.name!, o]));
}

/** A ConfigMap's data in the base, with the example overlay's patch over it when asked. */
async function configData(name: string, withOverlay: boolean): Promise<Record<string, string>> {
  const pick = async (file: string) => (await objectsOf(file)).find((o) => o?.kind === "ConfigMap" && o.metadata?.name === name)?.data ?? {};
  const overlayFile = `overlays/example/${name.replace("pagoda-", "")}.yaml`;
  return { ...(await pick(`base/${name.replace("pagoda-", "")}.yaml`)), ...(withOverlay ? await pick(overlayFile) : {}) };
}

/** ingress-nginx's size syntax: a number with an optional k or m. */
function bytes(size: string | undefined): number {
  const match = /^(\d+)([km]?)$/i.exec(size ?? "");
  if (!match) throw new Error(`not an nginx size: ${size}`);
  return Number(match[1]) * { "": 1, k: 1024, m: 1024 * 1024 }[match[2]!.toLowerCase() as "" | "k" | "m"];
}

/** Every route of the dashboard as a URL path, with a sample value for each [param]. */
async function routePaths(dir = path.join(root, "app/api"), prefix = "/api"): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name === "route.ts") out.push(prefix);
    if (entry.isDirectory())
      out.push(...(await routePaths(path.join(dir, entry.name), `${prefix}/${entry.name.replace(/^\[\.\.\.(.+)\]$/, "x/y").replace(/^\[(.+)\]$/, "x")}`)));
  }
  return out;
}

describe("the dashboard's Ingress limits", () => {
  it("refuse bodies over the dashboard's own limit everywhere but the upload route", async () => {
    const base = await ingresses("base/dashboard.yaml");
    const general = base.get("pagoda-dashboard")!;
    expect(bytes(general.metadata?.annotations?.["nginx.ingress.kubernetes.io/proxy-body-size"])).toBe(DEFAULT_BODY_LIMIT);

    const uploads = base.get("pagoda-dashboard-uploads")!;
    const annotations = uploads.metadata?.annotations ?? {};
    expect(annotations["nginx.ingress.kubernetes.io/use-regex"]).toBe("true");
    expect(annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"]).toBe("off");
    // At least the default upload limit: a tenant's archive quota beyond it needs the annotation raised.
    expect(bytes(annotations["nginx.ingress.kubernetes.io/proxy-body-size"])).toBeGreaterThanOrEqual(
      parseConfig({ DATABASE_URL: "postgresql://x", NEXTAUTH_SECRET: "s".repeat(32), PAGODA_ARTIFACT_SECRET: "a".repeat(32) }).PAGODA_QUOTA_ARCHIVE_BYTES,
    );

    const paths = uploads.spec!.rules!.flatMap((rule) => rule.http!.paths);
    expect(paths).toHaveLength(1);
    // ingress-nginx matches these case-insensitively, from the start of the path.
    const pattern = new RegExp(`^${paths[0]!.path}`, "i");
    const routes = await routePaths();
    expect(routes.length).toBeGreaterThan(5);
    expect(routes.filter((route) => pattern.test(route))).toEqual(["/api/tenants/x/sites/x/deploys"]);
    expect(pattern.test("/api/tenants/x/sites/x/deploys/d/promote")).toBe(false);
    expect(pattern.test("/api/tenants/x/y/sites/x/deploys")).toBe(false);
  });

  it("are kept by the example overlay, on the same host and class for both", async () => {
    const overlay = await ingresses("overlays/example/dashboard.yaml");
    const general = overlay.get("pagoda-dashboard")!;
    const uploads = overlay.get("pagoda-dashboard-uploads")!;
    expect(uploads.spec?.ingressClassName).toBe(general.spec?.ingressClassName);
    expect(uploads.spec?.rules?.map((r) => r.host)).toEqual(general.spec?.rules?.map((r) => r.host));
    expect(uploads.spec?.tls).toEqual(general.spec?.tls);
    // A strategic merge patch replaces the rules list: the overlay must repeat the base's path.
    const base = await ingresses("base/dashboard.yaml");
    expect(uploads.spec?.rules?.[0]?.http?.paths.map((p) => p.path)).toEqual(
      base.get("pagoda-dashboard-uploads")!.spec!.rules![0]!.http!.paths.map((p) => p.path),
    );
  });
});

describe("the manifests' domains", () => {
  it.each([false, true])("put the sites on a domain the dashboard does not share (example overlay: %s)", async (withOverlay) => {
    const dashboard = await configData("pagoda-dashboard", withOverlay);
    const secrets = { DATABASE_URL: "postgresql://x", NEXTAUTH_SECRET: "s".repeat(32), PAGODA_ARTIFACT_SECRET: "a".repeat(32) };
    expect(() => parseConfig({ ...dashboard, ...secrets })).not.toThrow();
    const operator = await configData("pagoda-operator", withOverlay);
    expect(operator.PAGODA_BASE_DOMAIN).toBe(dashboard.PAGODA_BASE_DOMAIN);
    // status.url and the dashboard's address are written from these.
    const { PAGODA_SITE_SCHEME, PAGODA_SITE_PORT } = parseConfig({ ...dashboard, ...secrets });
    expect(loadConfig(operator)).toMatchObject({ siteScheme: PAGODA_SITE_SCHEME, sitePort: PAGODA_SITE_PORT });
  });
});
