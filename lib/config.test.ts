import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, sameSiteConflict } from "@/lib/config";
import { siteUrl } from "@/lib/sites/url";

const valid = {
  DATABASE_URL: "postgresql://pagoda@127.0.0.1:5432/pagoda",
  NEXTAUTH_SECRET: "s".repeat(32),
  PAGODA_ARTIFACT_SECRET: "a".repeat(32),
};

describe("configuration", () => {
  it("fills local defaults", () => {
    const config = parseConfig(valid);
    expect(config.PAGODA_BASE_DOMAIN).toBe("pagoda.localhost");
    expect(config.NEXTAUTH_URL).toBe("http://localhost:3000");
    expect(config.PAGODA_INGRESS_NAMESPACE).toBeUndefined();
    expect(config.PAGODA_DASHBOARD_NAMESPACE).toBe("pagoda");
    expect(config.PAGODA_KUBE_REQUEST_TIMEOUT_SECONDS).toBe(10);
    expect(config.PAGODA_PROXY_ORIGINS).toEqual([]);
    expect(parseConfig({ ...valid, PAGODA_PROXY_ORIGINS: "https://API.example.com,http://10.0.0.5:8080" }).PAGODA_PROXY_ORIGINS).toEqual([
      "https://api.example.com",
      "http://10.0.0.5:8080",
    ]);
  });

  it.each([
    [{ ...valid, DATABASE_URL: undefined }, "DATABASE_URL is required"],
    [{ ...valid, DATABASE_URL: "mysql://x" }, "DATABASE_URL must be a postgres"],
    [{ ...valid, NEXTAUTH_SECRET: "short" }, "NEXTAUTH_SECRET must be at least 32"],
    [{ ...valid, PAGODA_BASE_DOMAIN: "Bad_Domain" }, "PAGODA_BASE_DOMAIN must be"],
    [{ ...valid, PAGODA_SITE_PORT: "seventy" }, "PAGODA_SITE_PORT"],
    [{ ...valid, NEXTAUTH_URL: "not a url" }, "NEXTAUTH_URL"],
    [{ ...valid, PAGODA_INGRESS_NAMESPACE: "Ingress_Nginx" }, "PAGODA_INGRESS_NAMESPACE must be a Kubernetes namespace name"],
    [{ ...valid, PAGODA_KUBE_REQUEST_TIMEOUT_SECONDS: "0" }, "PAGODA_KUBE_REQUEST_TIMEOUT_SECONDS must be at least 1"],
    [{ ...valid, PAGODA_KUBE_REQUEST_TIMEOUT_SECONDS: "1.5" }, "PAGODA_KUBE_REQUEST_TIMEOUT_SECONDS must be a whole number"],
    [{ ...valid, PAGODA_KUBE_REQUEST_TIMEOUT_SECONDS: "301" }, "PAGODA_KUBE_REQUEST_TIMEOUT_SECONDS must be at most 300"],
    [{ ...valid, PAGODA_PROXY_ORIGINS: "https://api.example.com/v1" }, 'PAGODA_PROXY_ORIGINS: "https://api.example.com/v1" is not an origin'],
  ])("names the variable that is wrong (%#)", (env, message) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(message);
  });

  it("builds site URLs with the port only when it is not the default", () => {
    const config = parseConfig({ ...valid, PAGODA_SITE_SCHEME: "http", PAGODA_SITE_PORT: "8080" });
    expect(siteUrl("blog-alice-abc123", config)).toBe("http://blog-alice-abc123.pagoda.localhost:8080/");
    expect(siteUrl("blog-alice-abc123", parseConfig(valid))).toBe("https://blog-alice-abc123.pagoda.localhost/");
  });

  describe("dashboard and sites on different sites", () => {
    it.each([
      ["https://pagoda.example.com", "sites.example.com", "share the registrable domain example.com"],
      ["https://example.com", "sites.example.com", "share the registrable domain example.com"],
      ["https://pagoda.example.co.uk", "sites.example.co.uk", "share the registrable domain example.co.uk"],
      ["https://dash.sites.example.com", "sites.example.com", "lies under PAGODA_BASE_DOMAIN"],
      ["https://sites.example.com", "sites.example.com", "share the registrable domain example.com"],
      ["http://pagoda.localhost:3000", "pagoda.localhost", "share the registrable domain pagoda.localhost"],
      ["http://pagoda.localhost:3000", "sites.pagoda.localhost", "share the registrable domain pagoda.localhost"],
      // A private PSL entry (as browsers apply it): every *.github.io host is a site of its own.
      ["https://alice.github.io", "alice.github.io", "share the registrable domain alice.github.io"],
      ["http://dash.localhost:3000", "localhost", "lies under PAGODA_BASE_DOMAIN"],
    ])("refuses a dashboard at %s with sites under %s", (url, base, reason) => {
      const env = { ...valid, NEXTAUTH_URL: url, PAGODA_BASE_DOMAIN: base };
      expect(() => parseConfig(env)).toThrow(ConfigError);
      expect(() => parseConfig(env)).toThrow(reason);
      const message = (() => {
        try {
          parseConfig(env);
        } catch (error) {
          return (error as Error).message;
        }
      })();
      // Names both variables and the way out.
      expect(message).toContain("NEXTAUTH_URL");
      expect(message).toContain("PAGODA_BASE_DOMAIN=");
      expect(message).toContain("PAGODA_ALLOW_SAME_SITE_SITES=1");
    });

    it.each([
      // npm start and the browser tests: localhost has no registrable domain, so only it can set its cookies.
      ["http://localhost:3000", "pagoda.localhost"],
      ["http://127.0.0.1:3000", "pagoda.localhost"],
      ["http://[::1]:3000", "pagoda.localhost"],
      ["http://localhost:3000", "localhost"],
      ["http://dash.localhost:3000", "pagoda.localhost"],
      ["https://pagoda.example.com", "sites.example.net"],
      ["https://pagoda.example.com", "example-sites.com"],
      // Each *.github.io name is a registrable domain of its own.
      ["https://alice.github.io", "bob.github.io"],
    ])("accepts a dashboard at %s with sites under %s", (url, base) => {
      expect(parseConfig({ ...valid, NEXTAUTH_URL: url, PAGODA_BASE_DOMAIN: base }).PAGODA_BASE_DOMAIN).toBe(base);
    });

    it("lets a local setup share the site on purpose", () => {
      const env = { ...valid, NEXTAUTH_URL: "https://pagoda.example.com", PAGODA_BASE_DOMAIN: "sites.example.com" };
      expect(parseConfig({ ...env, PAGODA_ALLOW_SAME_SITE_SITES: "1" }).PAGODA_ALLOW_SAME_SITE_SITES).toBe(true);
      expect(() => parseConfig({ ...env, PAGODA_ALLOW_SAME_SITE_SITES: "0" })).toThrow("share the registrable domain");
      expect(() => parseConfig({ ...env, PAGODA_ALLOW_SAME_SITE_SITES: "yes" })).toThrow("PAGODA_ALLOW_SAME_SITE_SITES must be 1");
    });

    it("ignores case and a trailing dot in the dashboard's host", () => {
      expect(sameSiteConflict("Pagoda.Example.COM.", "sites.example.com")).toContain("example.com");
    });
  });
});
