import { describe, expect, it } from "vitest";
import type { StaticSite, StaticSiteSpec } from "@/lib/staticsite/types";
import { decideHosts, HostClaims } from "../hosts";
import { DIGEST_A, DIGEST_B } from "../test-fixtures";
import { desiredPoolSites, poolEntry, PoolGenerations, previewHostsOf, type PoolEntryContext } from "./desired";

const BASE = "sites.example.com";

function site(name: string, spec: Partial<StaticSiteSpec> = {}, extra: { namespace?: string; createdAt?: string } = {}): StaticSite {
  return {
    apiVersion: "pagoda.dev/v1alpha1",
    kind: "StaticSite",
    metadata: { name, namespace: extra.namespace ?? "acme", uid: `uid-${name}`, generation: 1, creationTimestamp: extra.createdAt as unknown as Date },
    spec: { artifact: { url: `https://pagoda.example/a/${name}.tgz?sig=1`, digest: DIGEST_A }, hosts: [`${name}-acme.${BASE}`], serving: "shared", ...spec },
  };
}

function context(sites: StaticSite[], over: Partial<PoolEntryContext> = {}): PoolEntryContext {
  const claims = new HostClaims();
  for (const s of sites)
    claims.set({
      key: `${s.metadata.namespace}/${s.metadata.name}`,
      namespace: s.metadata.namespace,
      name: s.metadata.name,
      uid: s.metadata.uid ?? "",
      createdAt: Date.parse(String(s.metadata.creationTimestamp ?? "1970-01-01T00:00:00Z")),
      hosts: s.spec.hosts ?? [],
    });
  return {
    managesNamespace: (ns) => ns !== "elsewhere",
    grantedHosts: (s) => decideHosts(`${s.metadata.namespace}/${s.metadata.name}`, s.spec.hosts ?? [], BASE, claims, () => true).granted,
    inPool: () => false,
    dedicatedReady: () => false,
    ...over,
  };
}

describe("the pool's desired map", () => {
  it("serves a shared site's granted custom domains with its hosts; previews stay under the built-in hosts", () => {
    const blog = site("blog", { domains: ["www.customer.test", "taken.test"], previews: [{ digest: DIGEST_B, url: "https://pagoda.example/a/p.tgz" }] });
    const entry = poolEntry(blog, context([blog], { grantedDomains: () => ["www.customer.test"] }));
    expect(entry?.hosts).toEqual([`blog-acme.${BASE}`, "www.customer.test"]);
    expect(entry?.previews?.map((p) => p.host)).toEqual([expect.stringMatching(new RegExp(`--blog-acme\\.${BASE.replace(/\./g, "\\.")}$`))]);
    // A dedicated site: none of its domains go to the pool.
    const own = poolEntry({ ...blog, spec: { ...blog.spec, serving: "dedicated" } }, context([blog], { grantedDomains: () => ["www.customer.test"] }));
    expect(own?.hosts).toEqual([]);
  });

  it("holds every not suspended site of Pagoda's namespaces, sorted by key: shared ones with their hosts, dedicated ones without", () => {
    const sites = [
      site("zeta", { spa: true }),
      site("alpha", { notFoundPage: "/404.html", rules: { redirects: "/old /new 301\n" } }),
      site("paused", { suspend: true }),
      site("own", { serving: "dedicated" }),
      site("plain", { serving: undefined }),
      site("outside", {}, { namespace: "elsewhere" }),
    ];
    const map = desiredPoolSites(sites, context(sites));
    expect(map.map((e) => [e.key, e.hosts.length > 0])).toEqual([
      ["acme/alpha", true],
      ["acme/own", false],
      ["acme/plain", false],
      ["acme/zeta", true],
    ]);
    expect(map[0]).toEqual({
      key: "acme/alpha",
      hosts: [`alpha-acme.${BASE}`],
      digest: DIGEST_A,
      url: "https://pagoda.example/a/alpha.tgz?sig=1",
      spa: false,
      notFoundPage: "/404.html",
      rules: { redirects: "/old /new 301\n" },
    });
    expect(map[3]).toMatchObject({ spa: true });
    expect(map[3]).not.toHaveProperty("rules");
  });

  it("gives a host to one site only, shared or dedicated, by the same arbitration as dedicated sites", () => {
    const host = `blog-acme.${BASE}`;
    const older = site("older", { serving: "dedicated", hosts: [host] }, { createdAt: "2026-01-01T00:00:00Z" });
    const newer = site("newer", { hosts: [host, `newer-acme.${BASE}`] }, { createdAt: "2026-02-01T00:00:00Z" });
    const outside = site("bad", { hosts: ["a.b.sites.example.com"] });
    const map = desiredPoolSites([older, newer, outside], context([older, newer, outside]));
    expect(map.find((e) => e.key === "acme/newer")?.hosts).toEqual([`newer-acme.${BASE}`]);
    expect(map.find((e) => e.key === "acme/bad")?.hosts).toEqual([]);
    // The older claimant is shared now: it holds the host in the pool.
    const sharedOlder = { ...older, spec: { ...older.spec, serving: "shared" as const } };
    const again = desiredPoolSites([sharedOlder, newer], context([sharedOlder, newer]));
    expect(again.find((e) => e.key === "acme/older")?.hosts).toEqual([host]);
    expect(again.find((e) => e.key === "acme/newer")?.hosts).toEqual([`newer-acme.${BASE}`]);
  });

  it("keeps a site going back to dedicated until its own Deployment and Ingress are ready, then lets it go", () => {
    const back = site("back", { serving: "dedicated" });
    const ctx = (ready: boolean, inPool: boolean) => context([back], { inPool: () => inPool, dedicatedReady: () => ready });
    expect(poolEntry(back, ctx(false, true))?.hosts).toEqual([`back-acme.${BASE}`]);
    // Then it is in the map for the mirror only.
    expect(poolEntry(back, ctx(true, true))?.hosts).toEqual([]);
    // Never in the pool: a dedicated site gets no hosts there while its workload starts.
    expect(poolEntry(back, ctx(false, false))?.hosts).toEqual([]);
    // Suspended or being deleted: out at once.
    expect(poolEntry({ ...back, spec: { ...back.spec, suspend: true } }, ctx(false, true))).toBeUndefined();
    expect(poolEntry({ ...back, metadata: { ...back.metadata, deletionTimestamp: new Date() } }, ctx(false, true))).toBeUndefined();
  });

  it("moves the generation only when the content changes, and never below the clock or a replica's", () => {
    let now = 1_000;
    const gens = new PoolGenerations(() => now);
    const sites = [site("a"), site("b")];
    const first = gens.update(desiredPoolSites(sites, context(sites)));
    expect(first.generation).toBe(1_000);
    now = 5_000;
    // Same content, listed in another order and rebuilt afresh: same map, same generation.
    const reversed = [...sites].reverse().map((s) => structuredClone(s));
    expect(gens.update(desiredPoolSites(reversed, context(reversed))).generation).toBe(1_000);
    const changed = [site("a"), site("b", { artifact: { url: "https://pagoda.example/a/b2.tgz?sig=1", digest: DIGEST_B } })];
    const second = gens.update(desiredPoolSites(changed, context(changed)));
    expect(second.generation).toBe(5_000);
    // Two changes within the same millisecond still increase it.
    const third = gens.update(desiredPoolSites([site("a")], context([site("a")])));
    expect(third.generation).toBe(5_001);
    // A replica holding a newer generation (an earlier leader with a clock ahead) is passed by the next map.
    expect(gens.seen(9_000)).toBe(true);
    expect(gens.seen(4_000)).toBe(false);
    expect(gens.update(third.sites).generation).toBe(9_001);
    expect(gens.update(third.sites).generation).toBe(9_001);
  });

  describe("previews", () => {
    const deploys = [
      { digest: DIGEST_B, url: "https://pagoda.example/a/b.tgz?sig=2" },
      { digest: DIGEST_A, url: "https://pagoda.example/a/a.tgz?sig=2" },
    ];
    const ref = (digest: string) => digest.slice(7, 19);

    it("lists each deploy at its preview host of every granted host under the default domain, newest first", () => {
      const taken = site("taken", { hosts: [`blog-acme.${BASE}`] }, { createdAt: "2026-01-01T00:00:00Z" });
      const shared = site("docs", { hosts: [`docs-acme.${BASE}`, `blog-acme.${BASE}`, BASE], previews: deploys }, { createdAt: "2026-02-01T00:00:00Z" });
      const entry = poolEntry(shared, context([taken, shared], { baseDomain: BASE }));
      expect(entry?.hosts).toEqual([`docs-acme.${BASE}`, BASE]);
      // Not under the conflicted host, nor under the domain itself (the wildcard routes one label below it only).
      expect(entry?.previews).toEqual([
        { host: `${ref(DIGEST_B)}--docs-acme.${BASE}`, digest: DIGEST_B, url: deploys[0]!.url },
        { host: `${ref(DIGEST_A)}--docs-acme.${BASE}`, digest: DIGEST_A, url: deploys[1]!.url },
      ]);
      expect(poolEntry(site("plain"), context([site("plain")]))).not.toHaveProperty("previews");
    });

    it("skips a preview host whose label would not fit in 63 characters", () => {
      const long = `${"l".repeat(50)}.${BASE}`;
      expect(previewHostsOf(DIGEST_A, [long, `short.${BASE}`], BASE)).toEqual([`${ref(DIGEST_A)}--short.${BASE}`]);
      expect(previewHostsOf(DIGEST_A, [`a.b.${BASE}`, "other.example"], BASE)).toEqual([]);
    });

    it("puts every dedicated site in the map with no hosts, for the mirror and its previews, unless suspended", () => {
      const own = site("own", { serving: "dedicated", previews: deploys });
      const entry = poolEntry(own, context([own], { dedicatedReady: () => true, baseDomain: BASE }));
      expect(entry).toMatchObject({ key: "acme/own", hosts: [], digest: DIGEST_A });
      expect(entry?.previews?.map((p) => p.host)).toEqual([`${ref(DIGEST_B)}--own-acme.${BASE}`, `${ref(DIGEST_A)}--own-acme.${BASE}`]);
      // A dedicated site never in the pool, while its workload starts: no hosts, still.
      expect(poolEntry(own, context([own], { dedicatedReady: () => false }))?.hosts).toEqual([]);
      // Going back to dedicated: its hosts too, until its own workload is ready.
      expect(poolEntry(own, context([own], { inPool: () => true }))?.hosts).toEqual([`own-acme.${BASE}`]);
      expect(poolEntry({ ...own, spec: { ...own.spec, suspend: true } }, context([own]))).toBeUndefined();
      // Without previews it is there for the mirror alone: its deploy's digest and URL, nothing to serve.
      const bare = poolEntry({ ...own, spec: { ...own.spec, previews: [] } }, context([own], { dedicatedReady: () => true }));
      expect(bare).toMatchObject({ key: "acme/own", hosts: [], digest: DIGEST_A, url: own.spec.artifact.url });
      expect(bare).not.toHaveProperty("previews");
    });

    it("moves the generation when a preview comes or goes, and only then", () => {
      let now = 1_000;
      const gens = new PoolGenerations(() => now);
      const sites = [site("a", { previews: [deploys[1]!] }), site("d", { serving: "dedicated", previews: deploys })];
      const first = gens.update(desiredPoolSites(sites, context(sites)));
      now = 2_000;
      const again = sites.map((s) => structuredClone(s)).reverse();
      expect(gens.update(desiredPoolSites(again, context(again))).generation).toBe(first.generation);
      const more = [site("a", { previews: deploys }), sites[1]!];
      expect(gens.update(desiredPoolSites(more, context(more))).generation).toBe(2_000);
    });
  });
});
