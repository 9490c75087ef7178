import type { NextConfig } from "next";
import { NextRequest } from "next/server";
import { unstable_doesMiddlewareMatch } from "next/experimental/testing/server";
import { afterEach, describe, expect, it, vi } from "vitest";
import { pageSecurityPolicy } from "@/lib/http/security-headers";

const env = {
  DATABASE_URL: "postgresql://pagoda@127.0.0.1:5432/pagoda",
  NEXTAUTH_SECRET: "s".repeat(32),
  PAGODA_ARTIFACT_SECRET: "a".repeat(32),
};

/** proxy.ts under a given NEXTAUTH_URL (the configuration is read once per module instance). */
async function proxyFor(url: string) {
  vi.resetModules();
  for (const [key, value] of Object.entries({ ...env, NEXTAUTH_URL: url })) vi.stubEnv(key, value);
  return (await import("@/proxy")).proxy;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("page policy", () => {
  it("runs only scripts with the nonce, and nothing may frame the page", () => {
    const policy = pageSecurityPolicy("abc", { https: false, dev: false });
    for (const directive of [
      "default-src 'self'",
      "script-src 'self' 'nonce-abc' 'strict-dynamic'",
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ]) {
      expect(policy.split("; ")).toContain(directive);
    }
    expect(policy).not.toContain("unsafe-inline");
    expect(policy).not.toContain("unsafe-eval");
    expect(policy).not.toContain("upgrade-insecure-requests");
    expect(pageSecurityPolicy("abc", { https: true, dev: false })).toContain("upgrade-insecure-requests");
    // Only the development server relaxes anything, for its error overlay and injected styles.
    expect(pageSecurityPolicy("abc", { https: false, dev: true })).toContain("script-src 'self' 'nonce-abc' 'strict-dynamic' 'unsafe-eval'");
  });
});

describe("proxy", () => {
  it("gives every page view its own nonce, in the response and in the request Next.js renders from", async () => {
    const proxy = await proxyFor("http://localhost:3000");
    const first = proxy(new NextRequest("http://localhost:3000/signin"));
    const second = proxy(new NextRequest("http://localhost:3000/signin"));
    const nonce = (policy: string | null) => /'nonce-([^']+)'/.exec(policy ?? "")?.[1];
    expect(nonce(first.headers.get("content-security-policy"))).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(nonce(first.headers.get("content-security-policy"))).not.toBe(nonce(second.headers.get("content-security-policy")));
    expect(first.headers.get("x-middleware-request-content-security-policy")).toBe(first.headers.get("content-security-policy"));
    expect(first.headers.get("strict-transport-security")).toBeNull();
  });

  it("sends HSTS only when the dashboard's URL is https", async () => {
    const proxy = await proxyFor("https://pagoda.example.com");
    expect(proxy(new NextRequest("https://pagoda.example.com/signin")).headers.get("strict-transport-security")).toBe("max-age=63072000; includeSubDomains");
    expect(proxy(new NextRequest("https://pagoda.example.com/api/auth/session")).headers.get("strict-transport-security")).toBe(
      "max-age=63072000; includeSubDomains",
    );
  });

  it("leaves next-auth's responses the fixed policy that allows nothing", async () => {
    const proxy = await proxyFor("http://localhost:3000");
    expect(proxy(new NextRequest("http://localhost:3000/api/auth/session")).headers.get("content-security-policy")).toBeNull();
  });

  it("runs for pages and next-auth's routes, not for static files, our APIs or requests with a body", async () => {
    const { config } = await import("@/proxy");
    const runs = (url: string, headers: Record<string, string> = {}) => unstable_doesMiddlewareMatch({ config, url, headers });
    for (const url of ["/", "/signin", "/w/acme", "/w/acme/sites/blog", "/api-docs", "/apiary", "/api/auth/session", "/api/auth/csrf"]) {
      expect(runs(url), url).toBe(true);
    }
    for (const url of ["/_next/static/chunks/app.js", "/api/healthz", "/api/tenants/acme/sites", "/api/tenants/acme/sites/blog/status", "/api/openapi.json"]) {
      expect(runs(url), url).toBe(false);
    }
    expect(runs("/signin", { "content-length": "10" })).toBe(false);
    expect(runs("/api/auth/callback/credentials", { "transfer-encoding": "chunked" })).toBe(false);
  });

  it("takes a sign-in cookie sent twice out of the request", async () => {
    const proxy = await proxyFor("http://localhost:3000");
    const request = new NextRequest("http://localhost:3000/w/acme", {
      headers: { cookie: "next-auth.session-token=mine; theme=dark; next-auth.session-token=planted" },
    });
    expect(proxy(request).headers.get("x-middleware-request-cookie")).toBe("theme=dark");
    const alone = new NextRequest("http://localhost:3000/w/acme", { headers: { cookie: "next-auth.session-token=planted; next-auth.session-token=x" } });
    expect(proxy(alone).headers.get("x-middleware-override-headers")?.split(",")).not.toContain("cookie");
  });
});

describe("fixed headers (next.config.mjs)", () => {
  it("reach every path, with lower-case names that the proxy's policy replaces", async () => {
    // A path in a variable: the type checker does not read JavaScript files.
    const configFile = new URL("../../next.config.mjs", import.meta.url).href;
    const nextConfig = ((await import(configFile)) as { default: NextConfig }).default;
    const rules = await nextConfig.headers!();
    expect(rules).toHaveLength(1);
    expect(rules[0]!.source).toBe("/:path*");
    const headers = Object.fromEntries(rules[0]!.headers.map(({ key, value }) => [key, value]));
    for (const key of Object.keys(headers)) expect(key).toBe(key.toLowerCase());
    expect(headers).toMatchObject({
      "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      "x-frame-options": "DENY",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cross-origin-opener-policy": "same-origin",
    });
    for (const feature of ["camera", "microphone", "geolocation", "payment", "usb"]) expect(headers["permissions-policy"]).toContain(`${feature}=()`);
  });
});
