// The one rule for a site's public address, shared by the operator (which
// writes it to status.url) and the dashboard (which shows it): both must
// print the same string, or a user sees one address and kubectl another.
// Imports nothing, so either side may use it.

export const SITE_SCHEMES = ["http", "https"] as const;
export type SiteScheme = (typeof SITE_SCHEMES)[number];

const DEFAULT_PORTS: Record<SiteScheme, number> = { http: 80, https: 443 };

/** `<site>-<owner>`: one DNS label, so one wildcard certificate covers every site. */
export function defaultHostLabel(siteName: string, owner: string): string {
  return `${siteName}-${owner}`;
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
