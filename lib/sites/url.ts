import type { Config } from "@/lib/config";
import { defaultHostLabel, siteUrl as formatSiteUrl } from "@/lib/staticsite/site-url";

/** `<site>-<tenant>`: the rule the operator also uses for sites without hosts. */
export function hostLabelFor(siteName: string, tenantSlug: string): string {
  return defaultHostLabel(siteName, tenantSlug);
}

export function siteHost(hostLabel: string, config: Pick<Config, "PAGODA_BASE_DOMAIN">): string {
  return `${hostLabel}.${config.PAGODA_BASE_DOMAIN}`;
}

export function siteUrl(hostLabel: string, config: Pick<Config, "PAGODA_BASE_DOMAIN" | "PAGODA_SITE_SCHEME" | "PAGODA_SITE_PORT">): string {
  return formatSiteUrl({ scheme: config.PAGODA_SITE_SCHEME, host: siteHost(hostLabel, config), port: config.PAGODA_SITE_PORT });
}
