import { describe, expect, it } from "vitest";
import { displayNameFrom, ruleFor } from "@/lib/auth/oidc";
import { parseOidcDomainRules } from "@/lib/config";

describe("domain rules", () => {
  const rules = parseOidcDomainRules("example.com=acme:member,example.org=beta:viewer");

  it("match the address's domain exactly, whatever its case", () => {
    expect(ruleFor("ada@Example.COM", rules)).toMatchObject({ workspace: "acme", role: "member" });
    expect(ruleFor("ada@example.org", rules)).toMatchObject({ workspace: "beta", role: "viewer" });
  });

  it("cover neither sub-domains nor look-alikes", () => {
    expect(ruleFor("ada@mail.example.com", rules)).toBeUndefined();
    expect(ruleFor("ada@example.com.evil.test", rules)).toBeUndefined();
    expect(ruleFor("ada@notexample.com", rules)).toBeUndefined();
    // The domain is what follows the last @.
    expect(ruleFor('"x@example.com"@evil.test', rules)).toBeUndefined();
  });
});

describe("display names from the provider", () => {
  it("keep one line of at most 80 characters", () => {
    expect(displayNameFrom("Ada\r\nBcc: someone@example.com", "ada@example.com")).toBe("Ada Bcc: someone@example.com");
    expect(Array.from(displayNameFrom("é".repeat(100), "ada@example.com"))).toHaveLength(80);
  });

  it("fall back to the address's local part", () => {
    expect(displayNameFrom(null, "ada@example.com")).toBe("ada");
    expect(displayNameFrom(" \u0007 ", "grace@example.com")).toBe("grace");
  });
});
