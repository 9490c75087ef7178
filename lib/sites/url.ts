import "server-only";
import type { Config } from "@/lib/config";
import { defaultHostLabel, hostUnder, previewHost, previewRef, siteUrl as formatSiteUrl } from "@/lib/staticsite/site-url";

/** `<site>-<tenant>`: the rule the operator also uses (with the namespace) for sites without hosts. */
export const hostLabelFor: (siteName: string, tenantSlug: string) => string = defaultHostLabel;

export function siteHost(hostLabel: string, config: Pick<Config, "PAGODA_BASE_DOMAIN">): string {
  return hostUnder(hostLabel, config.PAGODA_BASE_DOMAIN);
}

export function siteUrl(hostLabel: string, config: Pick<Config, "PAGODA_BASE_DOMAIN" | "PAGODA_SITE_SCHEME" | "PAGODA_SITE_PORT">): string {
  return formatSiteUrl({ scheme: config.PAGODA_SITE_SCHEME, host: siteHost(hostLabel, config), port: config.PAGODA_SITE_PORT });
}

/** The address a deploy answers at whether or not it is promoted (docs/serving.md, "Previews"); null when the site's label leaves no room for it. */
export function previewUrl(
  hostLabel: string,
  digest: string,
  config: Pick<Config, "PAGODA_BASE_DOMAIN" | "PAGODA_SITE_SCHEME" | "PAGODA_SITE_PORT">,
): string | null {
  const host = previewHost(previewRef(digest), siteHost(hostLabel, config));
  return host === undefined ? null : formatSiteUrl({ scheme: config.PAGODA_SITE_SCHEME, host, port: config.PAGODA_SITE_PORT });
}
