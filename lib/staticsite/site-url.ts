// The one rule for a site's public address, shared by the operator (which
// writes it to status.url) and the dashboard (which shows it): both must
// print the same string, or a user sees one address and kubectl another.
// Imports nothing, so either side may use it.

export const SITE_SCHEMES = ["http", "https"] as const;
export type SiteScheme = (typeof SITE_SCHEMES)[number];

const DEFAULT_PORTS: Record<SiteScheme, number> = { http: 80, https: 443 };

/** A DNS label holds at most 63 characters. */
export const DNS_LABEL_MAX_LENGTH = 63;

/**
 * `<site>-<owner>`: one DNS label, so one wildcard certificate covers every
 * site. The dashboard's owner is the tenant slug, the operator's (for sites
 * that list no hosts) the namespace, which only the cluster admin hands out.
 */
export function defaultHostLabel(siteName: string, owner: string): string {
  return `${siteName}-${owner}`;
}

/** `<label>.<domain>`: a site's host one label below the domain sites are served under. */
export function hostUnder(label: string, domain: string): string {
  return `${label}.${domain}`;
}

/** The default host, or undefined when `<site>-<owner>` does not fit in one DNS label and so cannot be served. */
export function defaultSiteHost(siteName: string, owner: string, domain: string): string | undefined {
  const label = defaultHostLabel(siteName, owner);
  return label.length <= DNS_LABEL_MAX_LENGTH ? hostUnder(label, domain) : undefined;
}

export interface SiteAddress {
  scheme: SiteScheme;
  host: string;
  /** Where the ingress listens, when not the scheme's own port. */
  port?: number;
}

/** `<scheme>://<host>[:<port>]/`; the port is left out when it is the scheme's default. */
export function siteUrl({ scheme, host, port }: SiteAddress): string {
  const shown = port !== undefined && port !== DEFAULT_PORTS[scheme] ? `:${port}` : "";
  return `${scheme}://${host}${shown}/`;
}

/** Hex digits of a deploy's digest that name its preview address. */
export const PREVIEW_REF_LENGTH = 12;
/** A host label that is a preview's: `<12 hex>--<site label>`. */
export const PREVIEW_LABEL_RE = /^[0-9a-f]{12}--/;

/** `3f2a9c1b04de` of `sha256:3f2a9c1b04de…`: the deploy's part of its preview host. */
export function previewRef(digest: string): string {
  return digest.slice("sha256:".length, "sha256:".length + PREVIEW_REF_LENGTH);
}

/**
 * `<ref>--<label>.<domain>` for a site host `<label>.<domain>`: one label
 * still, so the wildcard that covers the site's host covers its previews.
 * No host label the dashboard makes has `--` (site names cannot, and a
 * tenant slug cannot start with a dash). Undefined when the label would not
 * fit in 63 characters.
 */
export function previewHost(ref: string, siteHost: string): string | undefined {
  const dot = siteHost.indexOf(".");
  if (dot <= 0) return undefined;
  const label = `${ref}--${siteHost.slice(0, dot)}`;
  return label.length <= DNS_LABEL_MAX_LENGTH ? `${label}${siteHost.slice(dot)}` : undefined;
}
