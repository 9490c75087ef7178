import { describe, expect, it } from "vitest";
import { defaultHostLabel, defaultSiteHost, DNS_LABEL_MAX_LENGTH, hostUnder, PREVIEW_LABEL_RE, previewHost, previewRef, siteUrl } from "./site-url";

describe("site URL rule", () => {
  it("writes the scheme, the host and a root path", () => {
    expect(siteUrl({ scheme: "https", host: "blog-alice.sites.example.net" })).toBe("https://blog-alice.sites.example.net/");
    expect(siteUrl({ scheme: "http", host: "blog-alice.pagoda.localhost" })).toBe("http://blog-alice.pagoda.localhost/");
  });

  it("adds a port only when it is not the scheme's own", () => {
    expect(siteUrl({ scheme: "http", host: "a.pagoda.localhost", port: 18080 })).toBe("http://a.pagoda.localhost:18080/");
    expect(siteUrl({ scheme: "https", host: "a.example.net", port: 8443 })).toBe("https://a.example.net:8443/");
    expect(siteUrl({ scheme: "http", host: "a.example.net", port: 80 })).toBe("http://a.example.net/");
    expect(siteUrl({ scheme: "https", host: "a.example.net", port: 443 })).toBe("https://a.example.net/");
    // Each scheme's default is its own: 80 is not implied by https, nor 443 by http.
    expect(siteUrl({ scheme: "https", host: "a.example.net", port: 80 })).toBe("https://a.example.net:80/");
    expect(siteUrl({ scheme: "http", host: "a.example.net", port: 443 })).toBe("http://a.example.net:443/");
  });

  it("builds the default host label as <site>-<owner>", () => {
    expect(defaultHostLabel("blog", "alice")).toBe("blog-alice");
  });

  it("puts the default host one label below the domain, and gives none when the label would not fit", () => {
    expect(hostUnder("blog-alice", "sites.example.net")).toBe("blog-alice.sites.example.net");
    expect(defaultSiteHost("blog", "alice", "sites.example.net")).toBe("blog-alice.sites.example.net");
    const owner = "o".repeat(DNS_LABEL_MAX_LENGTH - "blog-".length);
    expect(defaultSiteHost("blog", owner, "x.net")).toBe(`blog-${owner}.x.net`);
    expect(defaultSiteHost("blog", `${owner}o`, "x.net")).toBeUndefined();
  });
});

describe("preview addresses", () => {
  const digest = `sha256:3f2a9c1b04de${"0".repeat(52)}`;

  it("are the digest's first 12 hex digits and two dashes before the site's own label, one label under the same domain", () => {
    expect(previewRef(digest)).toBe("3f2a9c1b04de");
    expect(previewHost(previewRef(digest), "blog-alice-k3x9q2.pagoda.example.com")).toBe("3f2a9c1b04de--blog-alice-k3x9q2.pagoda.example.com");
    expect(PREVIEW_LABEL_RE.test("3f2a9c1b04de--blog-alice-k3x9q2")).toBe(true);
    expect(PREVIEW_LABEL_RE.test("blog-alice-k3x9q2")).toBe(false);
  });

  it("do not exist where the label would pass 63 characters, or for a host without a domain", () => {
    const longest = "a".repeat(63 - 14);
    expect(previewHost("3f2a9c1b04de", `${longest}.example.com`)).toBe(`3f2a9c1b04de--${longest}.example.com`);
    expect(previewHost("3f2a9c1b04de", `${longest}b.example.com`)).toBeUndefined();
    expect(previewHost("3f2a9c1b04de", "localhost")).toBeUndefined();
  });
});
