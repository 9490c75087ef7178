import { describe, expect, it } from "vitest";
import { CACHE_IMMUTABLE, configHash, FINGERPRINT_REGEX, renderNginxConfig } from "./nginx-config";

describe("renderNginxConfig", () => {
  it("listens on 8080 with writable paths under /tmp by default", () => {
    const conf = renderNginxConfig({ spa: false });
    expect(conf).toContain("listen 8080 default_server;");
    expect(conf).toContain("pid /tmp/nginx.pid;");
    expect(conf).toContain("client_body_temp_path /tmp/client_temp;");
    expect(conf).toContain("gzip_static on;");
    expect(conf).toContain("location = /healthz");
    expect(conf).not.toMatch(/^\s*user /m);
  });

  it("falls back to /index.html only for SPAs", () => {
    expect(renderNginxConfig({ spa: true })).toContain("try_files $pagoda_file $uri/ /index.html;");
    expect(renderNginxConfig({ spa: false })).toContain("try_files $pagoda_file $uri/ =404;");
  });

  it("adds the custom 404 page", () => {
    expect(renderNginxConfig({ spa: false, notFoundPage: "/errors/404.html" })).toContain("error_page 404 /errors/404.html;");
    expect(renderNginxConfig({ spa: false })).not.toContain("error_page 404");
  });

  it("refuses unsafe 404 paths and spa + 404", () => {
    expect(() => renderNginxConfig({ spa: false, notFoundPage: "/../etc/passwd" })).toThrow(/not a safe/);
    expect(() => renderNginxConfig({ spa: false, notFoundPage: "/x; include /etc/shadow" })).toThrow(/not a safe/);
    expect(() => renderNginxConfig({ spa: true, notFoundPage: "/404.html" })).toThrow(/cannot be combined/);
  });

  it("recognises fingerprinted file names", () => {
    const re = new RegExp(FINGERPRINT_REGEX, "i");
    for (const name of ["/a/app.3f2a9c1b.js", "/main-0123abcd4567.css", "/chunk.deadbeef.js.map"]) expect(re.test(name), name).toBe(true);
    for (const name of ["/app.js", "/index.html", "/logo-v2.svg", "/a.1234567.js"]) expect(re.test(name), name).toBe(false);
    expect(renderNginxConfig({ spa: false })).toContain(CACHE_IMMUTABLE);
  });

  it("hash changes with the config", () => {
    expect(configHash(renderNginxConfig({ spa: true }))).not.toBe(configHash(renderNginxConfig({ spa: false })));
    expect(configHash(renderNginxConfig({ spa: true }))).toMatch(/^[0-9a-f]{16}$/);
  });
});
