import { describe, expect, it } from "vitest";
import { claimOrder, decideHosts, hostAllowed, HostClaims, hostProblem, isPreviewHost, type HostClaim } from "./hosts";

const claim = (namespace: string, name: string, createdAt: number, hosts: string[]): HostClaim => ({
  key: `${namespace}/${name}`,
  namespace,
  name,
  uid: `uid-${namespace}-${name}`,
  createdAt,
  hosts,
});

describe("hostAllowed", () => {
  it("allows the base domain and names one label below it, nothing else", () => {
    const base = "sites.example.com";
    expect(hostAllowed("sites.example.com", base)).toBe(true);
    expect(hostAllowed("blog-acme.sites.example.com", base)).toBe(true);
    for (const host of [
      "a.b.sites.example.com",
      "example.com",
      "pagoda.example.com",
      "evilsites.example.com",
      "sites.example.com.evil.net",
      ".sites.example.com",
    ]) {
      expect(hostAllowed(host, base), host).toBe(false);
    }
  });

  it("refuses a name shaped like a preview address, and only that shape", () => {
    const base = "sites.example.com";
    expect(hostAllowed(`0123456789ab--blog-acme.${base}`, base)).toBe(false);
    expect(isPreviewHost(`0123456789ab--blog-acme.${base}`, base)).toBe(true);
    for (const host of [`0123456789ab-blog.${base}`, `0123456789abc--blog.${base}`, `0123456789-x--blog.${base}`, `blog--acme.${base}`]) {
      expect(isPreviewHost(host, base), host).toBe(false);
      expect(hostAllowed(host, base), host).toBe(true);
    }
  });
});

describe("HostClaims", () => {
  it("gives a host to the oldest claimant, then namespace, then name", () => {
    const a = claim("ns-b", "a", 2_000, ["h.x"]);
    const b = claim("ns-a", "z", 2_000, ["h.x"]);
    const c = claim("ns-a", "y", 2_000, ["h.x"]);
    const old = claim("ns-z", "z", 1_000, ["h.x"]);
    expect([a, b, c, old].sort(claimOrder).map((x) => x.key)).toEqual(["ns-z/z", "ns-a/y", "ns-a/z", "ns-b/a"]);

    const claims = new HostClaims();
    for (const x of [a, b, c]) claims.set(x);
    expect(claims.holder("h.x", () => true)?.key).toBe("ns-a/y");
    // Arrival order does not matter: a replica that saw them the other way round decides the same.
    const reversed = new HostClaims();
    for (const x of [c, b, a]) reversed.set(x);
    expect(reversed.holder("h.x", () => true)?.key).toBe("ns-a/y");
    expect(claims.set(old).sort()).toEqual(["ns-a/y", "ns-a/z", "ns-b/a"]);
    expect(claims.holder("h.x", () => true)?.key).toBe("ns-z/z");
    // Ineligible claimants (outside Pagoda's namespaces) hold nothing.
    expect(claims.holder("h.x", (x) => x.namespace !== "ns-z")?.key).toBe("ns-a/y");
  });

  it("hands the host on when the holder goes away or drops it, and tells who is affected", () => {
    const claims = new HostClaims();
    claims.set(claim("t1", "first", 1, ["h.x", "only.x"]));
    claims.set(claim("t2", "second", 2, ["h.x"]));
    expect(claims.holder("h.x", () => true)?.key).toBe("t1/first");
    expect(claims.remove("t1/first")).toEqual(["t2/second"]);
    expect(claims.holder("h.x", () => true)?.key).toBe("t2/second");
    expect(claims.holder("only.x", () => true)).toBeUndefined();

    claims.set(claim("t1", "first", 1, ["h.x"]));
    // Dropping the host from the spec also frees it.
    expect(claims.set(claim("t1", "first", 1, ["other.x"]))).toEqual(["t2/second"]);
    expect(claims.holder("h.x", () => true)?.key).toBe("t2/second");
    expect(claims.neighboursOf("t2/second")).toEqual([]);
  });
});

describe("incumbents", () => {
  it("a site already serving a host keeps it against an older claimant that arrives later", () => {
    const claims = new HostClaims();
    const holder = claim("tenant", "shop", 2_000, ["h.x"]);
    const late = claim("was-foreign", "old", 1_000, ["h.x"]);
    claims.set(holder);
    claims.set(late);
    expect(claims.holder("h.x", () => true)?.key).toBe("was-foreign/old");
    const serving = (c: HostClaim) => c.key === holder.key;
    expect(claims.holder("h.x", () => true, serving)?.key).toBe("tenant/shop");
    // Two serving it (an old installation, or a lagging cache): the oldest again.
    expect(
      claims.holder(
        "h.x",
        () => true,
        () => true,
      )?.key,
    ).toBe("was-foreign/old");
    expect(decideHosts("was-foreign/old", ["h.x"], "x", claims, () => true, serving).conflicted).toEqual(["h.x"]);
  });
});

describe("decideHosts / hostProblem", () => {
  it("grants what the site holds, refuses foreign hosts, and names hosts but never the other site", () => {
    const claims = new HostClaims();
    claims.set(claim("victim", "shop", 1, ["shop.sites.test"]));
    claims.set(claim("attacker", "grab", 2, ["shop.sites.test", "grab.sites.test"]));
    const d = decideHosts("attacker/grab", ["shop.sites.test", "grab.sites.test"], "sites.test", claims, () => true);
    expect(d).toEqual({ granted: ["grab.sites.test"], refused: [], conflicted: ["shop.sites.test"] });
    const problem = hostProblem(d, "sites.test");
    expect(problem?.reason).toBe("HostConflict");
    expect(problem?.message).toContain("shop.sites.test");
    expect(problem?.message).not.toMatch(/victim/);

    const foreign = decideHosts("attacker/grab", ["pagoda.example.com"], "sites.test", claims, () => true);
    expect(foreign.refused).toEqual(["pagoda.example.com"]);
    expect(hostProblem(foreign, "sites.test")?.reason).toBe("HostNotAllowed");

    // No site, however old, may hold a preview's name: the message says why.
    claims.set(claim("victim", "old", 0, ["0123456789ab--grab.sites.test"]));
    const preview = decideHosts("victim/old", ["0123456789ab--grab.sites.test", "x.y.sites.test"], "sites.test", claims, () => true);
    expect(preview).toEqual({ granted: [], refused: ["0123456789ab--grab.sites.test", "x.y.sites.test"], conflicted: [] });
    expect(hostProblem(preview, "sites.test")).toEqual({
      reason: "HostNotAllowed",
      message:
        'Host x.y.sites.test is not served: only sites.test and names one label below it are allowed; Host 0123456789ab--grab.sites.test is not served: a first label of 12 hex digits and "--" names a deploy\'s preview address, which no site may claim',
    });
    expect(
      hostProblem(
        decideHosts("victim/shop", ["shop.sites.test"], "sites.test", claims, () => true),
        "sites.test",
      ),
    ).toBeUndefined();
  });
});
