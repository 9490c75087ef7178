import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";

const valid = {
  DATABASE_URL: "postgresql://pagoda@127.0.0.1:5432/pagoda",
  NEXTAUTH_SECRET: "s".repeat(32),
  PAGODA_ARTIFACT_SECRET: "a".repeat(32),
};

function issuesOf(env: Record<string, string | undefined>): string {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("accepted");
}

describe("custom-domain configuration", () => {
  it("has defaults: no ingress target, the system resolver, no wildcards", () => {
    const config = parseConfig(valid);
    expect(config.PAGODA_INGRESS_HOSTNAME).toBeUndefined();
    expect(config.PAGODA_INGRESS_ADDRESSES).toEqual([]);
    expect(config.PAGODA_DNS_RESOLVER).toEqual([]);
    expect(config.PAGODA_DOMAINS_ALLOW_WILDCARD).toBe(false);
    expect(config.PAGODA_DOMAIN_RETRY_SECONDS).toBe(30);
    expect(config.PAGODA_DOMAIN_RECHECK_SECONDS).toBe(3600);
    expect(config.PAGODA_DOMAIN_GRACE_SECONDS).toBe(72 * 3600);
  });

  it("reads lists of addresses and resolvers", () => {
    const config = parseConfig({
      ...valid,
      PAGODA_INGRESS_HOSTNAME: "ingress.example.net",
      PAGODA_INGRESS_ADDRESSES: "203.0.113.10, 2001:db8::10",
      PAGODA_DNS_RESOLVER: "127.0.0.1:5353,10.0.0.53,[fd00::53]:53",
      PAGODA_DOMAINS_ALLOW_WILDCARD: "1",
    });
    expect(config.PAGODA_INGRESS_ADDRESSES).toEqual(["203.0.113.10", "2001:db8::10"]);
    expect(config.PAGODA_DNS_RESOLVER).toEqual(["127.0.0.1:5353", "10.0.0.53", "[fd00::53]:53"]);
    expect(config.PAGODA_DOMAINS_ALLOW_WILDCARD).toBe(true);
  });

  it.each([
    [{ PAGODA_INGRESS_HOSTNAME: "Not A Host" }, "PAGODA_INGRESS_HOSTNAME must be"],
    [{ PAGODA_INGRESS_ADDRESSES: "203.0.113.10,ingress.example.net" }, "PAGODA_INGRESS_ADDRESSES must be comma-separated IP addresses"],
    [{ PAGODA_INGRESS_ADDRESSES: "203.0.113.10:80" }, "not: 203.0.113.10:80"],
    [{ PAGODA_DNS_RESOLVER: "dns.example.net" }, "PAGODA_DNS_RESOLVER must be comma-separated"],
    [{ PAGODA_DNS_RESOLVER: "127.0.0.1:70000" }, "not: 127.0.0.1:70000"],
    [{ PAGODA_DNS_RESOLVER: "999.0.0.1" }, "not: 999.0.0.1"],
    [{ PAGODA_DOMAINS_ALLOW_WILDCARD: "yes" }, "PAGODA_DOMAINS_ALLOW_WILDCARD must be 1"],
    [{ PAGODA_DOMAIN_GRACE_SECONDS: "0" }, "PAGODA_DOMAIN_GRACE_SECONDS must be at least 1"],
    [{ PAGODA_DOMAIN_RECHECK_SECONDS: "soon" }, "PAGODA_DOMAIN_RECHECK_SECONDS must be a whole number"],
  ])("refuses %j, naming the variable", (env, message) => {
    expect(issuesOf({ ...valid, ...env })).toContain(message);
  });
});
