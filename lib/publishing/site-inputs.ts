import "server-only";
import { getConfig, type Config } from "@/lib/config";
import { db } from "@/lib/db";
import { signedArtifactUrl } from "@/lib/artifacts/configured";
import type { DesiredSite, TenantPolicySettings } from "@/lib/publishing";
import type { Digest } from "@/lib/artifacts";
import { PREVIEWS_MAX, type ServingMode } from "@/lib/staticsite/types";

const siteSelect = {
  id: true,
  name: true,
  spa: true,
  notFoundPage: true,
  serving: true,
  tenant: { select: { slug: true, maxSites: true } },
  targetDeploy: { select: { digest: true, redirectsText: true, headersText: true } },
  // Only verified domains reach the cluster: until then no Ingress serves them.
  domains: { where: { state: "verified" }, select: { name: true }, orderBy: { name: "asc" } },
} as const;

type SiteWithTarget = {
  id: string;
  name: string;
  spa: boolean;
  notFoundPage: string | null;
  serving: ServingMode;
  tenant: { slug: string; maxSites: number | null };
  targetDeploy: { digest: string | null; redirectsText: string | null; headersText: string | null } | null;
  domains: { name: string }[];
};

/** The tenant's site quota, which sizes its namespace's ResourceQuota. */
export function tenantMaxSites(tenant: { maxSites: number | null }, config: Pick<Config, "PAGODA_QUOTA_SITES"> = getConfig()): number {
  return tenant.maxSites ?? config.PAGODA_QUOTA_SITES;
}

/** Same, by slug: for writing a tenant's namespace before any of its sites is published. */
export async function tenantMaxSitesOf(tenantSlug: string): Promise<number> {
  const tenant = await db().tenant.findUnique({ where: { slug: tenantSlug }, select: { maxSites: true } });
  return tenantMaxSites(tenant ?? { maxSites: null });
}

/** The tenant NetworkPolicy's settings; null (no policy) until the ingress controller's namespace is configured. */
export function tenantPolicySettings(
  config: Pick<Config, "PAGODA_INGRESS_NAMESPACE" | "PAGODA_DASHBOARD_NAMESPACE" | "PAGODA_POOL_NAMESPACE" | "PAGODA_PROXY_ORIGINS"> = getConfig(),
): TenantPolicySettings | null {
  if (!config.PAGODA_INGRESS_NAMESPACE) return null;
  const settings: TenantPolicySettings = {
    ingressNamespace: config.PAGODA_INGRESS_NAMESPACE,
    dashboardNamespace: config.PAGODA_DASHBOARD_NAMESPACE,
    ...(config.PAGODA_POOL_NAMESPACE ? { poolNamespace: config.PAGODA_POOL_NAMESPACE } : {}),
  };
  // Site pods may reach nothing but DNS, the dashboard and the pool's mirror, unless proxy rules need their origins.
  return config.PAGODA_PROXY_ORIGINS.length > 0 ? { ...settings, proxyOrigins: config.PAGODA_PROXY_ORIGINS } : settings;
}

/**
 * The digests of each site's newest stored deploys, each once, newest first,
 * at most PREVIEWS_MAX: one statement for any number of sites (a nested
 * `take` would read every deploy of every site and cut them in memory).
 */
export async function previewDigests(siteIds: string[]): Promise<Map<string, string[]>> {
  const byId = new Map<string, string[]>();
  if (siteIds.length === 0) return byId;
  const rows = await db().$queryRaw<{ siteId: string; digest: string }[]>`
    SELECT "siteId", digest FROM (
      SELECT "siteId", digest, row_number() OVER (PARTITION BY "siteId" ORDER BY max("createdAt") DESC, digest) AS n
      FROM "Deploy"
      WHERE "siteId" = ANY(${siteIds}) AND digest IS NOT NULL AND state <> 'processing'
      GROUP BY "siteId", digest
    ) newest
    WHERE n <= ${PREVIEWS_MAX}
    ORDER BY "siteId", n`;
  for (const row of rows) byId.set(row.siteId, [...(byId.get(row.siteId) ?? []), row.digest]);
  return byId;
}

function toDesired(site: SiteWithTarget, previews: readonly string[] = []): DesiredSite | null {
  const digest = site.targetDeploy?.digest;
  if (!digest) return null;
  return {
    siteId: site.id,
    tenantSlug: site.tenant.slug,
    siteName: site.name,
    artifact: { url: signedArtifactUrl(digest as Digest), digest },
    baseDomain: getConfig().PAGODA_BASE_DOMAIN,
    tenantPolicy: tenantPolicySettings(),
    maxSites: tenantMaxSites(site.tenant),
    spa: site.spa,
    notFoundPage: site.notFoundPage,
    rules: { redirects: site.targetDeploy?.redirectsText ?? null, headers: site.targetDeploy?.headersText ?? null },
    // spec.domains holds exact names only; a wildcard (PAGODA_DOMAINS_ALLOW_WILDCARD) is verified but not served yet.
    domains: site.domains.map((domain) => domain.name).filter((name) => !name.startsWith("*.")),
    serving: site.serving,
    previews: previews.map((preview) => ({ url: signedArtifactUrl(preview as Digest), digest: preview })),
  };
}

/** What the cluster should run for one site, from Postgres; null while it has no promoted deploy. */
export async function desiredSiteOf(siteId: string): Promise<DesiredSite | null> {
  const site = await db().site.findUnique({ where: { id: siteId }, select: siteSelect });
  return site ? toDesired(site, (await previewDigests([site.id])).get(site.id)) : null;
}

/** Every site that should be running: the input of a full restore. */
export async function allDesiredSites(): Promise<DesiredSite[]> {
  const sites = await db().site.findMany({ where: { targetDeployId: { not: null } }, select: siteSelect });
  const previews = await previewDigests(sites.map((site) => site.id));
  return sites.map((site) => toDesired(site, previews.get(site.id))).filter((site): site is DesiredSite => site !== null);
}
