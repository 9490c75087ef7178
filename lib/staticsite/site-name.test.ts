import { describe, expect, it } from "vitest";
import { staticSiteCrd } from "./crd";
import { dashboardSiteNameProblem, SITE_NAME_MAX_LENGTH, SITE_NAME_PATTERN, SITE_NAME_RE, siteNameProblem } from "./site-name";

const samples = ["a", "blog", "my-site-2", "a--b", "a".repeat(40), "a".repeat(41), "", "-a", "a-", "1a", "A", "a.b", "a_b", "é", "a b", "x-"];

describe("site names", () => {
  it.each(samples)("the words agree with the pattern and the length for %j", (name) => {
    const valid = SITE_NAME_RE.test(name) && name.length <= SITE_NAME_MAX_LENGTH;
    expect(siteNameProblem(name) === null).toBe(valid);
  });

  it("the CRD checks the same pattern and length on metadata.name", () => {
    const rules = staticSiteCrd.spec.versions[0].schema.openAPIV3Schema["x-kubernetes-validations"].map((r) => r.rule);
    expect(rules).toContain(`self.metadata.name.size() <= ${SITE_NAME_MAX_LENGTH}`);
    expect(rules).toContain(`self.metadata.name.matches('${SITE_NAME_PATTERN}')`);
  });

  it("the dashboard also refuses double dashes and reserved words", () => {
    expect(dashboardSiteNameProblem("a--b")).toMatch(/two dashes/);
    expect(dashboardSiteNameProblem("www")).toMatch(/reserved/);
    expect(dashboardSiteNameProblem("blog")).toBeNull();
  });
});
