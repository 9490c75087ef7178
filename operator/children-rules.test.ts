import { describe, expect, it } from "vitest";
import { ANNOTATION_CONFIG_HASH } from "@/lib/staticsite/types";
import { desiredChildren, nginxConfigFor, parseSiteRules, RenderedConfigCache, renderedConfigCacheSize, RulesInvalidError } from "./children";
import { renderNginxConfig } from "./nginx-config";
import { childConfig, makeSite } from "./test-fixtures";

const REDIRECTS = "/old /new 301\n/blog/* /news/:splat 302\n";
const HEADERS = "/fonts/*\n  Access-Control-Allow-Origin: *\n";

const configHashOf = (site: ReturnType<typeof makeSite>) =>
  desiredChildren(site, childConfig).deployment.spec?.template.metadata?.annotations?.[ANNOTATION_CONFIG_HASH];

describe("a StaticSite's rules in its nginx config", () => {
  it("renders the spec's rules with the real renderer, and hides both rules files", () => {
    const site = makeSite({ rules: { redirects: REDIRECTS, headers: HEADERS } });
    const conf = nginxConfigFor(site);
    expect(conf).toBe(renderNginxConfig({ spa: false, rules: parseSiteRules({ redirects: REDIRECTS, headers: HEADERS }) }));
    expect(conf).toContain('"/old"');
    expect(conf).toContain("Access-Control-Allow-Origin");
    expect(conf).toContain("try_files $pagoda_file $uri/ @pagoda_rules;");
    expect(conf).toMatch(/location = \/_redirects \{\s+return 404;/);
    expect(conf).toMatch(/location = \/_headers \{\s+return 404;/);
  });

  it("renders exactly the config of old without rules", () => {
    expect(nginxConfigFor(makeSite())).toBe(renderNginxConfig({ spa: false }));
    expect(nginxConfigFor(makeSite({ spa: true }))).toBe(renderNginxConfig({ spa: true }));
  });

  it("gives each distinct rules text its own config and hash, and the same text the same config", () => {
    const a = makeSite({ rules: { redirects: REDIRECTS } });
    const b = makeSite({ rules: { redirects: "/old /elsewhere 301\n" } });
    const headersOnly = makeSite({ rules: { headers: HEADERS } });
    expect(nginxConfigFor(a)).not.toBe(nginxConfigFor(b));
    expect(configHashOf(a)).not.toBe(configHashOf(b));
    expect(configHashOf(a)).not.toBe(configHashOf(headersOnly));
    expect(configHashOf(makeSite())).not.toBe(configHashOf(makeSite({ rules: {} })));
    // A fresh object with the same text: same config, same hash (the pod template does not roll).
    expect(nginxConfigFor(makeSite({ rules: { redirects: `${REDIRECTS}` } }))).toBe(nginxConfigFor(a));
    expect(configHashOf(makeSite({ rules: { redirects: `${REDIRECTS}` } }))).toBe(configHashOf(a));
  });

  it("refuses rules that do not parse with the file, the line and what is wrong, building no children", () => {
    const site = makeSite({ rules: { redirects: "/a /b 301\n/old /new 999\n/x /y 123\n" } });
    expect(() => desiredChildren(site, childConfig)).toThrow(RulesInvalidError);
    expect(() => nginxConfigFor(site)).toThrow(
      "spec.rules: _redirects line 2: status 999 is not a redirect status; give one of 200, 301, 302, 303, 307, 308, 404 (and 1 more)",
    );
    expect(() => nginxConfigFor(makeSite({ rules: { headers: "/*\n  Set-Cookie: a=b\n" } }))).toThrow(/^spec\.rules: _headers line 2: .*Set-Cookie/);
    expect(() => nginxConfigFor(makeSite({ rules: { redirects: "/api/* https://api.example.com/:splat 200\n" } }))).toThrow(/proxying to another origin/);
  });

  it("keeps the render cache bounded in entries", () => {
    for (let i = 0; i < 300; i++) nginxConfigFor(makeSite({ rules: { redirects: `/old-${i} /new 301\n` } }));
    expect(renderedConfigCacheSize().entries).toBeLessThanOrEqual(256);
  });

  it("bounds a render cache in bytes too, since one config with rules can be hundreds of KiB", () => {
    const cache = new RenderedConfigCache(10, 1000);
    for (let i = 0; i < 5; i++) cache.set(`k${i}`, "x".repeat(300));
    expect(cache.size.bytes).toBeLessThanOrEqual(1000);
    expect(cache.get("k4")?.text).toHaveLength(300);
    for (let i = 0; i < 20; i++) cache.set(`s${i}`, "y");
    expect(cache.size.entries).toBeLessThanOrEqual(10);
  });
});
