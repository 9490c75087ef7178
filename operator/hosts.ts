// Which site may serve which host. A StaticSite names its hosts itself, so
// without these rules any site could claim the dashboard's host or another
// tenant's. Pure: the operator feeds it from its StaticSite cache.
import { PREVIEW_LABEL_RE } from "@/lib/staticsite/site-url";

/**
 * A name one label below the base domain shaped like a preview address
 * (`<12 hex>--<label>`): the pool answers those with a site's deploys, so a
 * site claiming one could shadow another site's preview.
 */
export function isPreviewHost(host: string, baseDomain: string): boolean {
  const suffix = `.${baseDomain}`;
  return host.endsWith(suffix) && PREVIEW_LABEL_RE.test(host.slice(0, -suffix.length));
}

/** The base domain itself and names one label below it: `blog-acme.<base>`, not `a.b.<base>`, and not a preview's name. */
export function hostAllowed(host: string, baseDomain: string): boolean {
  if (host === baseDomain) return true;
  const suffix = `.${baseDomain}`;
  if (!host.endsWith(suffix)) return false;
  const label = host.slice(0, -suffix.length);
  return label.length > 0 && !label.includes(".") && !PREVIEW_LABEL_RE.test(label);
}

export interface HostClaim {
  /** `namespace/name` of the StaticSite. */
  key: string;
  namespace: string;
  name: string;
  /** The StaticSite's uid, to recognise the Ingress it controls. */
  uid: string;
  /** creationTimestamp in epoch ms; NaN-free (0 when unknown). */
  createdAt: number;
  /** Hosts the site asks for that lie inside the allowed domains. */
  hosts: readonly string[];
}

/**
 * Older claims win; equal timestamps (they have one-second resolution) fall
 * back to namespace, then name. Everything compared is stored in the API
 * server, so every replica and every restart picks the same holder.
 */
export function claimOrder(a: HostClaim, b: HostClaim): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return 0;
}

export function createdAtMs(value: Date | string | undefined): number {
  if (value === undefined) return 0;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? ms : 0;
}

/** Every site's claims, indexed by host, kept current from watch events. */
export class HostClaims {
  private readonly byKey = new Map<string, HostClaim>();
  private readonly byHost = new Map<string, Set<string>>();

  /**
   * Records (or replaces) a site's claim. Returns the other sites that share
   * a host with its old or new claim: their holder may have changed.
   */
  set(claim: HostClaim): string[] {
    const before = this.byKey.get(claim.key);
    if (before) this.unindex(before);
    this.byKey.set(claim.key, claim);
    for (const host of claim.hosts) {
      let keys = this.byHost.get(host);
      if (!keys) this.byHost.set(host, (keys = new Set()));
      keys.add(claim.key);
    }
    return this.neighbours(claim.key, [...(before?.hosts ?? []), ...claim.hosts]);
  }

  /** Forgets a deleted site; returns the sites that shared a host with it. */
  remove(key: string): string[] {
    const before = this.byKey.get(key);
    if (!before) return [];
    this.unindex(before);
    this.byKey.delete(key);
    return this.neighbours(key, before.hosts);
  }

  /** Other sites sharing a host with `key`'s current claim. */
  neighboursOf(key: string): string[] {
    return this.neighbours(key, this.byKey.get(key)?.hosts ?? []);
  }

  /**
   * The claim that holds `host` among those `eligible` says may hold
   * anything. A site already serving the host (`serving`: its Ingress routes
   * it) keeps it against any other, however old; among several serving it,
   * or when none does, the oldest claim wins. So a host cannot be taken from
   * its holder by a site that is older but asks for it later, or whose
   * namespace only became Pagoda's later.
   */
  holder(host: string, eligible: (claim: HostClaim) => boolean, serving: (claim: HostClaim, host: string) => boolean = () => false): HostClaim | undefined {
    let best: HostClaim | undefined;
    let bestServes = false;
    for (const key of this.byHost.get(host) ?? []) {
      const claim = this.byKey.get(key);
      if (!claim || !eligible(claim)) continue;
      const serves = serving(claim, host);
      if (!best || (serves && !bestServes) || (serves === bestServes && claimOrder(claim, best) < 0)) {
        best = claim;
        bestServes = serves;
      }
    }
    return best;
  }

  private unindex(claim: HostClaim): void {
    for (const host of claim.hosts) {
      const keys = this.byHost.get(host);
      keys?.delete(claim.key);
      if (keys?.size === 0) this.byHost.delete(host);
    }
  }

  private neighbours(key: string, hosts: readonly string[]): string[] {
    const out = new Set<string>();
    for (const host of hosts) for (const k of this.byHost.get(host) ?? []) if (k !== key) out.add(k);
    return [...out];
  }
}

export interface HostDecision {
  /** Hosts this site serves: allowed, and it holds them. */
  granted: string[];
  /** Outside the allowed domains. */
  refused: string[];
  /** Allowed, but an earlier claimant holds them. */
  conflicted: string[];
}

export function decideHosts(
  key: string,
  hosts: readonly string[],
  baseDomain: string,
  claims: HostClaims,
  eligible: (claim: HostClaim) => boolean,
  serving?: (claim: HostClaim, host: string) => boolean,
): HostDecision {
  const decision: HostDecision = { granted: [], refused: [], conflicted: [] };
  for (const host of hosts) {
    if (!hostAllowed(host, baseDomain)) decision.refused.push(host);
    else if ((claims.holder(host, eligible, serving)?.key ?? key) === key) decision.granted.push(host);
    else decision.conflicted.push(host);
  }
  return decision;
}

/** The Degraded reason for hosts the site asked for but does not serve, if any. */
export function hostProblem(decision: HostDecision, baseDomain: string): { reason: string; message: string } | undefined {
  const list = (hosts: string[]) => hosts.join(", ");
  if (decision.refused.length > 0) {
    const previews = decision.refused.filter((h) => isPreviewHost(h, baseDomain));
    const others = decision.refused.filter((h) => !isPreviewHost(h, baseDomain));
    const sentences: string[] = [];
    if (others.length > 0) {
      const s = others.length > 1;
      sentences.push(`Host${s ? "s" : ""} ${list(others)} ${s ? "are" : "is"} not served: only ${baseDomain} and names one label below it are allowed`);
    }
    if (previews.length > 0) {
      const s = previews.length > 1;
      sentences.push(
        `Host${s ? "s" : ""} ${list(previews)} ${s ? "are" : "is"} not served: a first label of 12 hex digits and "--" names a deploy's preview address, which no site may claim`,
      );
    }
    return { reason: "HostNotAllowed", message: sentences.join("; ") };
  }
  if (decision.conflicted.length > 0) {
    const s = decision.conflicted.length > 1;
    // The other claimant belongs to someone else: name the host, never the site.
    return {
      reason: "HostConflict",
      message: `Host${s ? "s" : ""} ${list(decision.conflicted)} ${s ? "are" : "is"} already served by another site, so ${s ? "they are" : "it is"} not served by this one`,
    };
  }
  return undefined;
}

/** What a custom domain (spec.domains) is checked against before any claim counts. */
export interface DomainRules {
  /** PAGODA_BASE_DOMAIN: its names are the installation's to give, through spec.hosts. */
  baseDomain: string;
  /** The dashboard's own host, when the operator knows it. */
  dashboardHost: string | undefined;
}

function isUnder(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`);
}

/**
 * Why no site may serve this custom domain, or undefined when one may. The
 * dashboard checks the same before it verifies a domain; a StaticSite written
 * by hand is held to it here. Names under the dashboard's host are refused
 * with it: a site there could set cookies the dashboard would receive.
 */
export function domainForbidden(domain: string, rules: DomainRules): string | undefined {
  if (isUnder(domain, rules.baseDomain)) {
    return `${domain} is under the installation's domain ${rules.baseDomain}; sites get those names as their built-in address, not as custom domains`;
  }
  if (rules.dashboardHost && isUnder(domain, rules.dashboardHost)) {
    return domain === rules.dashboardHost ? `${domain} is the dashboard's own host` : `${domain} is under the dashboard's host ${rules.dashboardHost}`;
  }
  return undefined;
}

export interface RefusedDomain {
  name: string;
  reason: string;
}

export interface DomainDecision {
  /** Custom domains this site serves. */
  granted: string[];
  /** The others, each with why; reasons never name another site. */
  refused: RefusedDomain[];
}

/** The custom-domain counterpart of decideHosts: the same claims, the same first-claim rule across namespaces. */
export function decideDomains(
  key: string,
  domains: readonly string[],
  rules: DomainRules,
  claims: HostClaims,
  eligible: (claim: HostClaim) => boolean,
  serving?: (claim: HostClaim, host: string) => boolean,
): DomainDecision {
  const decision: DomainDecision = { granted: [], refused: [] };
  for (const name of new Set(domains)) {
    const forbidden = domainForbidden(name, rules);
    if (forbidden) decision.refused.push({ name, reason: forbidden });
    else if ((claims.holder(name, eligible, serving)?.key ?? key) === key) decision.granted.push(name);
    else decision.refused.push({ name, reason: `${name} is already served by another site` });
  }
  return decision;
}
