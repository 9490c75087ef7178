import { describe, expect, it } from "vitest";
import { NOT_FOUND_PAGE_CHARS, NOT_FOUND_PAGE_MAX, siteSettingsBodySchema } from "@/lib/api/schemas";
import { NOT_FOUND_PAGE_MAX_LENGTH, NOT_FOUND_PAGE_RE, specSchema } from "@/lib/staticsite/schema";
import { describeChange, isNotFoundPageCandidate } from "@/lib/sites/settings";

describe("the 404 page's rules", () => {
  it("are the StaticSite's own (lib/api may not import the CRD's schema)", () => {
    expect(NOT_FOUND_PAGE_MAX).toBe(NOT_FOUND_PAGE_MAX_LENGTH);
    expect(NOT_FOUND_PAGE_CHARS.source).toBe(NOT_FOUND_PAGE_RE.source);
  });

  it("offer only files whose path the StaticSite accepts", () => {
    const offered = ["/404.html", "/docs/not-found.html", "/a_b~c.html"];
    const refused = ["/style.css", "/with space.html", "/café.html", "/a/../b.html", `/${"a".repeat(252)}.html`, "/index.htm", "/404.html/"];
    expect(offered.filter(isNotFoundPageCandidate)).toEqual(offered);
    expect(refused.filter(isNotFoundPageCandidate)).toEqual([]);
    for (const page of offered) {
      const spec = { artifact: { url: "https://d.example/a", digest: `sha256:${"a".repeat(64)}` }, notFoundPage: page };
      expect(specSchema.safeParse(spec).success, page).toBe(true);
      expect(siteSettingsBodySchema.safeParse({ notFoundPage: page }).success, page).toBe(true);
    }
    for (const page of refused) expect(siteSettingsBodySchema.safeParse({ notFoundPage: page }).success, page).toBe(false);
  });

  it("takes a serving mode alone, and refuses any other", () => {
    expect(siteSettingsBodySchema.parse({ serving: "shared" })).toEqual({ serving: "shared" });
    const refused = siteSettingsBodySchema.safeParse({ serving: "pool" });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toBe("serving is dedicated or shared.");
    expect(siteSettingsBodySchema.safeParse({}).error?.issues[0]?.message).toBe("Give spa, notFoundPage, serving, or more than one of them.");
  });
});

describe("a settings change in the history", () => {
  it("says what changed, and only that", () => {
    const off = { spa: false, notFoundPage: null, serving: "dedicated" } as const;
    expect(describeChange(off, { ...off, spa: true })).toBe("SPA fallback on");
    expect(describeChange({ ...off, spa: true }, { ...off, notFoundPage: "/404.html" })).toBe("SPA fallback off, custom 404 page /404.html");
    expect(describeChange({ ...off, notFoundPage: "/404.html" }, off)).toBe("custom 404 page removed");
    expect(describeChange(off, { ...off, serving: "shared" })).toBe("served by the shared pool");
    expect(describeChange({ ...off, serving: "shared" }, { ...off, spa: true })).toBe("SPA fallback on, served by its own pods");
    expect(describeChange(off, off)).toBe("");
  });
});
