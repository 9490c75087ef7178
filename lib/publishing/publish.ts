import "server-only";
import { clusterConfigured, dashboardKubeConfig, deleteStaticSite, ensureTenantNamespace, publishSite } from "@/lib/publishing";
import { desiredSiteOf, tenantMaxSitesOf, tenantPolicySettings } from "@/lib/publishing/site-inputs";
import { ClusterUnavailableError } from "@/lib/errors";
import { componentLogger } from "@/lib/log";

const log = componentLogger("cluster-publish");

/**
 * Points the site's StaticSite at its promoted deploy. Postgres already holds
 * the promotion, so a failure here is not lost: it is logged, and the
 * periodic restore applies it once the cluster answers again.
 */
export async function publishPromotedDeploy(siteId: string): Promise<void> {
  if (!clusterConfigured()) return;
  const desired = await desiredSiteOf(siteId);
  if (!desired) return;
  try {
    const result = await publishSite(dashboardKubeConfig(), desired);
    log.info({ siteId, site: desired.siteName, tenant: desired.tenantSlug, digest: desired.artifact.digest, written: result.written }, "site published");
  } catch (error) {
    log.error({ err: error, siteId, digest: desired.artifact.digest }, "publishing to the cluster failed; the periodic restore will retry");
  }
}

/**
 * Takes a site offline before its rows go: the StaticSite is deleted and its
 * children follow by garbage collection. If the cluster cannot be reached the
 * rows stay, so the dashboard never claims a site is gone while it serves.
 */
export async function unpublishSite(tenantSlug: string, siteName: string): Promise<void> {
  if (!clusterConfigured()) return;
  try {
    await deleteStaticSite(dashboardKubeConfig(), tenantSlug, siteName);
  } catch (error) {
    log.error({ err: error, tenant: tenantSlug, site: siteName }, "deleting the StaticSite failed");
    throw new ClusterUnavailableError("The cluster could not be reached to take the site offline. Nothing was deleted; try again in a minute.");
  }
}

/** Makes the tenant's namespace when its first site is created, so the first deploy has one step less. */
export async function prepareTenant(tenantSlug: string): Promise<void> {
  if (!clusterConfigured()) return;
  try {
    await ensureTenantNamespace(dashboardKubeConfig(), tenantSlug, tenantPolicySettings(), await tenantMaxSitesOf(tenantSlug));
  } catch (error) {
    log.error({ err: error, tenant: tenantSlug }, "creating the tenant namespace failed; publishing will retry");
  }
}
