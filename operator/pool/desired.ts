// The desired map every pool replica is sent: which site the pool serves on
// which hosts, with which artifact. Pure, fed from the StaticSite cache and
// the host arbitration the dedicated sites go through (operator/hosts.ts).
import { previewHost, previewRef } from "@/lib/staticsite/site-url";
import type { StaticSite } from "@/lib/staticsite/types";
import { objectHash } from "../child-drift";
import { keyOf, keyString } from "../../lib/kube/object-key";
import type { PoolDesired, PoolSite } from "./protocol";

export function isShared(site: Pick<StaticSite, "spec">): boolean {
  return site.spec.serving === "shared";
}

export interface PoolEntryContext {
  /** The namespace is one of Pagoda's. */
  managesNamespace(namespace: string): boolean;
  /** The hosts the site holds (decideHosts' granted): one host, one site, shared or dedicated alike. */
  grantedHosts(site: StaticSite): readonly string[];
  /** The custom domains it holds (decideDomains' granted): the pool serves them with its hosts. */
  grantedDomains?(site: StaticSite): readonly string[];
  /**
   * Sites the pool was serving or asked to serve on their own hosts: the last
   * desired map, and whatever a replica reports serving. An entry for
   * previews only (no hosts) must not count, or a dedicated site with
   * previews would be put in the map with its hosts whenever its own
   * workload is not ready (every rollout).
   */
  inPool(key: string): boolean;
  /** The site's own Deployment is Available with the spec's digest and its Ingress is applied for its hosts. */
  dedicatedReady(site: StaticSite): boolean;
  /**
   * The operator's default domain (PAGODA_BASE_DOMAIN): previews answer under
   * the granted hosts one label below it, which the pool's wildcard routes.
   * Absent: under every granted host (arbitration grants only the domain and
   * names one label below it; a preview of the domain itself is a name the
   * wildcard never routes).
   */
  baseDomain?: string;
}

/** The preview hosts of one deploy: `<ref>--<label>.<domain>` for each granted host `<label>.<domain>`. */
export function previewHostsOf(digest: string, granted: readonly string[], baseDomain?: string): string[] {
  const under = baseDomain === undefined ? granted : granted.filter((h) => h.endsWith(`.${baseDomain}`) && !h.slice(0, -baseDomain.length - 1).includes("."));
  return under.flatMap((h) => previewHost(previewRef(digest), h) ?? []);
}

/**
 * The contract: a site is in the pool's map exactly when it is in one of
 * Pagoda's namespaces, not being deleted, not suspended, and either
 * - asks for `serving: shared`, or
 * - is switching back to dedicated: the pool still serves it (`inPool`) and
 *   its own workload is not ready yet (`dedicatedReady`), so it keeps
 *   serving from the pool until its exact-host Ingress takes over.
 * Its entry carries only the hosts and custom domains it holds, and its
 * spec's digest, URL, spa, notFoundPage and rules as written.
 *
 * Every other site of Pagoda's namespaces (dedicated, not suspended) is in
 * the map with no hosts: the pool mirrors its deploy for its own pods (which
 * fetch it there first when they start) and serves its previews, but never
 * serves the deploy on the site's hosts. Every entry carries its previews
 * (spec.previews, newest first), each at each of its preview hosts.
 */
export function poolEntry(site: StaticSite, ctx: PoolEntryContext): PoolSite | undefined {
  if (!ctx.managesNamespace(site.metadata.namespace) || site.metadata.deletionTimestamp || site.spec.suspend) return undefined;
  const key = keyString(keyOf(site));
  const { spec } = site;
  const servesHosts = isShared(site) || (ctx.inPool(key) && !ctx.dedicatedReady(site));
  const granted = ctx.grantedHosts(site);
  const previews = (spec.previews ?? []).flatMap((p) =>
    previewHostsOf(p.digest, granted, ctx.baseDomain).map((host) => ({ host, digest: p.digest, url: p.url })),
  );
  const rules = spec.rules && (spec.rules.redirects !== undefined || spec.rules.headers !== undefined) ? spec.rules : undefined;
  return {
    key,
    hosts: servesHosts ? [...new Set([...granted, ...(ctx.grantedDomains?.(site) ?? [])])] : [],
    digest: spec.artifact.digest,
    url: spec.artifact.url,
    spa: !!spec.spa,
    ...(spec.notFoundPage ? { notFoundPage: spec.notFoundPage } : {}),
    ...(rules ? { rules: { ...rules } } : {}),
    ...(previews.length > 0 ? { previews } : {}),
  };
}

/** Every entry, by key: the order a replica receives does not depend on the order the cache lists sites in. */
export function desiredPoolSites(sites: readonly StaticSite[], ctx: PoolEntryContext): PoolSite[] {
  return sortEntries(sites.flatMap((site) => poolEntry(site, ctx) ?? []));
}

export function sortEntries(entries: Iterable<PoolSite>): PoolSite[] {
  return [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Numbers the maps. The generation moves only when the content does (its
 * canonical-JSON hash), and then to at least the clock's milliseconds, so
 * a new operator (a restart, another leader) starts above anything an
 * earlier one sent: a replica ignores a map older than the one it holds.
 * A replica that still reports a newer generation (a clock set back) makes
 * the next map jump above it.
 */
export class PoolGenerations {
  private hash: string | undefined;
  private current: PoolDesired | undefined;
  private floor = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** The map for these entries (sorted), with a new generation only if they differ from the last. */
  update(sites: PoolSite[]): PoolDesired {
    const hash = objectHash(sites);
    if (this.current && hash === this.hash && this.current.generation > this.floor) return this.current;
    const generation = Math.max((this.current?.generation ?? 0) + 1, this.floor + 1, this.now());
    this.hash = hash;
    this.current = { generation, sites };
    return this.current;
  }

  /** A replica holds `generation`, not ours: the next update numbers above it. True when that needs a new map. */
  seen(generation: number): boolean {
    if (generation <= (this.current?.generation ?? 0) || generation <= this.floor) return false;
    this.floor = generation;
    return true;
  }

  get desired(): PoolDesired | undefined {
    return this.current;
  }
}
