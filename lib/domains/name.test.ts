import { describe, expect, it } from "vitest";
import { DomainNameError, mixedScripts, normaliseDomain, parseDomainName, unicodeForm, type DomainNameRules } from "./name";

const rules: DomainNameRules = { dashboardHost: "pagoda.example.org", baseDomain: "sites.example.net", allowWildcard: false };

function refusal(input: string, overrides: Partial<DomainNameRules> = {}): DomainNameError {
  try {
    parseDomainName(input, { ...rules, ...overrides });
  } catch (error) {
    if (error instanceof DomainNameError) return error;
    throw error;
  }
  throw new Error(`${input} was accepted`);
}

describe("normaliseDomain", () => {
  it("trims, lower-cases and drops the trailing dot", () => {
    expect(normaliseDomain("  WWW.Example.COM. ")).toBe("www.example.com");
    expect(normaliseDomain("example.com")).toBe("example.com");
  });
});

describe("parseDomainName", () => {
  it("accepts plain names in their normal form", () => {
    expect(parseDomainName(" WWW.Customer.Test. ", rules)).toEqual({ ascii: "www.customer.test", unicode: "www.customer.test" });
    expect(parseDomainName("example.com", rules)).toEqual({ ascii: "example.com", unicode: "example.com" });
  });

  it("turns an IDN into punycode and keeps the Unicode form to show beside it", () => {
    expect(parseDomainName("www.Bücher.de", rules)).toEqual({ ascii: "www.xn--bcher-kva.de", unicode: "www.bücher.de" });
    expect(parseDomainName("www.xn--bcher-kva.de", rules)).toEqual({ ascii: "www.xn--bcher-kva.de", unicode: "www.bücher.de" });
    expect(parseDomainName("пример.рф", rules).ascii).toBe("xn--e1afmkfd.xn--p1ai");
  });

  it.each([
    ["", "Enter a domain name"],
    ["https://example.com", "without a scheme"],
    ["example.com/path", "without a scheme"],
    ["exa mple.com", "without a scheme"],
    ["ex..com", "empty label"],
    [".example.com", "empty label"],
    ["-a.example.com", "may not start or end with a hyphen"],
    ["a_b.example.com", "only letters, digits and hyphens"],
    [`${"a".repeat(64)}.com`, "longer than 63"],
    [`${"a.".repeat(127)}com`, "at most 253"],
    ["xn--zz.com", "not valid punycode"],
    ["ab--cd.example.com", "reserved for encoded names"],
    ["1.2.3.4", "IP address"],
    ["www.*.example.com", "first label"],
  ])("refuses the invalid name %j", (input, message) => {
    const error = refusal(input);
    expect(error.code).toBe("domain_invalid");
    expect(error.message).toContain(message);
  });

  it("refuses single-label names", () => {
    expect(refusal("localhost").code).toBe("domain_single_label");
    expect(refusal("münchen").code).toBe("domain_single_label");
  });

  it("refuses wildcards unless they are allowed", () => {
    const error = refusal("*.example.com");
    expect(error.code).toBe("domain_wildcard");
    expect(error.message).toContain("not allowed");
    expect(parseDomainName("*.Example.com", { ...rules, allowWildcard: true })).toEqual({ ascii: "*.example.com", unicode: "*.example.com" });
  });

  it("refuses the dashboard's host, names under it and names sharing its registrable domain", () => {
    expect(refusal("pagoda.example.org").code).toBe("domain_dashboard_host");
    expect(refusal("PAGODA.example.org.").code).toBe("domain_dashboard_host");
    expect(refusal("x.pagoda.example.org").code).toBe("domain_dashboard_host");
    const sameSite = refusal("shop.example.org");
    expect(sameSite.code).toBe("domain_dashboard_host");
    expect(sameSite.message).toContain("registrable domain example.org");
    expect(refusal("*.example.org", { allowWildcard: true }).code).toBe("domain_dashboard_host");
    expect(parseDomainName("shop.example.org", { ...rules, allowSameSite: true }).ascii).toBe("shop.example.org");
    // A dashboard on localhost or an IP has no registrable domain to share.
    expect(parseDomainName("www.customer.test", { ...rules, dashboardHost: "localhost" }).ascii).toBe("www.customer.test");
    expect(parseDomainName("www.customer.test", { ...rules, dashboardHost: "127.0.0.1" }).ascii).toBe("www.customer.test");
  });

  it("refuses the base domain and anything under it", () => {
    expect(refusal("sites.example.net").code).toBe("domain_base_domain");
    expect(refusal("blog-acme.sites.example.net").code).toBe("domain_base_domain");
    expect(refusal("a.b.Sites.Example.NET.").code).toBe("domain_base_domain");
    expect(refusal("*.example.net", { allowWildcard: true }).code).toBe("domain_base_domain");
    expect(parseDomainName("othersites.example.net", rules).ascii).toBe("othersites.example.net");
  });

  it("refuses labels that mix scripts, naming both forms", () => {
    // Cyrillic а (U+0430) in front of Latin "pple".
    const error = refusal("\u0430pple.com");
    expect(error.code).toBe("domain_mixed_scripts");
    expect(error.message).toContain("xn--pple-43d.com");
    expect(error.message).toContain("Cyrillic and Latin");
    expect(refusal("xn--pple-43d.com").code).toBe("domain_mixed_scripts");
    // Latin with Greek omicron.
    expect(refusal("g\u03bfogle.com").code).toBe("domain_mixed_scripts");
  });

  it("accepts one script per label, and the mixes CJK languages are written in", () => {
    expect(parseDomainName("пример.com", rules).unicode).toBe("пример.com");
    expect(parseDomainName("日本語のサイト.jp", rules).ascii).toMatch(/^xn--/);
    expect(parseDomainName("한국어漢字.kr", rules).ascii).toMatch(/^xn--/);
    expect(parseDomainName("café-2.fr", rules).unicode).toBe("café-2.fr");
  });
});

describe("mixedScripts", () => {
  it("ignores digits and hyphens", () => {
    expect(mixedScripts("abc-123")).toBeNull();
    expect(mixedScripts("абв-123")).toBeNull();
    expect(mixedScripts("abcабв")).toEqual(["Latin", "Cyrillic"]);
  });
});

describe("unicodeForm", () => {
  it("decodes punycode labels and leaves plain names alone", () => {
    expect(unicodeForm("www.xn--bcher-kva.de")).toBe("www.bücher.de");
    expect(unicodeForm("*.xn--bcher-kva.de")).toBe("*.bücher.de");
    expect(unicodeForm("www.example.com")).toBe("www.example.com");
  });
});
