import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, parseOidcDomainRules } from "@/lib/config";

const valid = {
  DATABASE_URL: "postgresql://pagoda@127.0.0.1:5432/pagoda",
  NEXTAUTH_SECRET: "s".repeat(32),
  PAGODA_ARTIFACT_SECRET: "a".repeat(32),
};
const sso = { PAGODA_OIDC_ISSUER: "https://login.example.com", PAGODA_OIDC_CLIENT_ID: "pagoda", PAGODA_OIDC_CLIENT_SECRET: "a secret" };

function problems(env: Record<string, string | undefined>): string {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.join("\n");
    throw error;
  }
  return "";
}

describe("single sign-on configuration", () => {
  it("is off when nothing is set, on with all three", () => {
    expect(parseConfig(valid).PAGODA_OIDC_ISSUER).toBeUndefined();
    const config = parseConfig({
      ...valid,
      ...sso,
      PAGODA_OIDC_NAME: "Acme login",
      PAGODA_OIDC_DOMAIN_RULES: "Example.com=acme:member, example.org=beta:viewer",
    });
    expect(config.PAGODA_OIDC_NAME).toBe("Acme login");
    expect(config.PAGODA_OIDC_DOMAIN_RULES).toEqual([
      { domain: "example.com", workspace: "acme", role: "member" },
      { domain: "example.org", workspace: "beta", role: "viewer" },
    ]);
  });

  it.each([
    [{ PAGODA_OIDC_ISSUER: sso.PAGODA_OIDC_ISSUER }, "PAGODA_OIDC_CLIENT_ID is required when PAGODA_OIDC_ISSUER is set"],
    [{ ...sso, PAGODA_OIDC_CLIENT_SECRET: undefined }, "PAGODA_OIDC_CLIENT_SECRET is required"],
    [{ ...sso, PAGODA_OIDC_ISSUER: "login.example.com" }, "PAGODA_OIDC_ISSUER must be the OpenID provider's issuer URL"],
    [{ ...sso, PAGODA_OIDC_ISSUER: "ftp://login.example.com" }, "PAGODA_OIDC_ISSUER must be"],
    [{ ...sso, PAGODA_OIDC_NAME: "two\nlines" }, "PAGODA_OIDC_NAME must be 1-40 characters"],
    [{ ...sso, PAGODA_OIDC_DOMAIN_RULES: "example.com=acme" }, "PAGODA_OIDC_DOMAIN_RULES: “example.com=acme” is not domain=workspace:role"],
    [{ ...sso, PAGODA_OIDC_DOMAIN_RULES: "example.com=acme:admin" }, "PAGODA_OIDC_DOMAIN_RULES: the role of example.com must be owner, member or viewer"],
    [{ ...sso, PAGODA_OIDC_DOMAIN_RULES: "example.com=Acme_1:member" }, "is not a workspace slug"],
    [{ ...sso, PAGODA_OIDC_DOMAIN_RULES: "localhost=acme:member" }, "“localhost” is not an email domain"],
    [{ ...sso, PAGODA_OIDC_DOMAIN_RULES: "a.com=x:member,A.com=y:owner" }, "a.com has more than one rule"],
    [{ PAGODA_OIDC_DOMAIN_RULES: "a.com=x:member" }, "PAGODA_OIDC_DOMAIN_RULES is set but single sign-on is off"],
  ])("refuses %o by name", (extra, message) => {
    expect(problems({ ...valid, ...extra })).toContain(message);
  });

  it("reads an empty rule list as no rules", () => {
    expect(parseOidcDomainRules(" , ")).toEqual([]);
  });
});
