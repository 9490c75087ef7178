import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";
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
  });

  it.each([
    [{ ...valid, DATABASE_URL: undefined }, "DATABASE_URL is required"],
    [{ ...valid, DATABASE_URL: "mysql://x" }, "DATABASE_URL must be a postgres"],
    [{ ...valid, NEXTAUTH_SECRET: "short" }, "NEXTAUTH_SECRET must be at least 32"],
    [{ ...valid, PAGODA_BASE_DOMAIN: "Bad_Domain" }, "PAGODA_BASE_DOMAIN must be"],
    [{ ...valid, PAGODA_SITE_PORT: "seventy" }, "PAGODA_SITE_PORT"],
    [{ ...valid, NEXTAUTH_URL: "not a url" }, "NEXTAUTH_URL"],
    [{ ...valid, PAGODA_INGRESS_NAMESPACE: "Ingress_Nginx" }, "PAGODA_INGRESS_NAMESPACE must be a Kubernetes namespace name"],
  ])("names the variable that is wrong (%#)", (env, message) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(message);
  });

  it("builds site URLs with the port only when it is not the default", () => {
    const config = parseConfig({ ...valid, PAGODA_SITE_SCHEME: "http", PAGODA_SITE_PORT: "8080" });
    expect(siteUrl("blog-alice-abc123", config)).toBe("http://blog-alice-abc123.pagoda.localhost:8080/");
    expect(siteUrl("blog-alice-abc123", parseConfig(valid))).toBe("https://blog-alice-abc123.pagoda.localhost/");
  });
});
