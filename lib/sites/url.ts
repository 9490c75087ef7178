import type { Config } from "@/lib/config";

/** `<site>-<tenant>`: one DNS label, so one wildcard certificate covers every site. */
export function hostLabelFor(siteName: string, tenantSlug: string): string {
  return `${siteName}-${tenantSlug}`;
}

export function siteHost(hostLabel: string, config: Pick<Config, "PAGODA_BASE_DOMAIN">): string {
  return `${hostLabel}.${config.PAGODA_BASE_DOMAIN}`;
}

export function siteUrl(hostLabel: string, config: Pick<Config, "PAGODA_BASE_DOMAIN" | "PAGODA_SITE_SCHEME" | "PAGODA_SITE_PORT">): string {
  const defaultPort = config.PAGODA_SITE_SCHEME === "https" ? 443 : 80;
  const port = config.PAGODA_SITE_PORT && config.PAGODA_SITE_PORT !== defaultPort ? `:${config.PAGODA_SITE_PORT}` : "";
  return `${config.PAGODA_SITE_SCHEME}://${siteHost(hostLabel, config)}${port}/`;
}
