import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config";

describe("loadConfig", () => {
  it("has working defaults", () => {
    const c = loadConfig({});
    expect(c.nginxImage).toBe("nginxinc/nginx-unprivileged:1.27-alpine");
    expect(c.fetchImage).toBe("busybox:1.37");
    expect(c.imagePullPolicy).toBe("IfNotPresent");
    expect(c.tls).toBe(false);
    expect(c.concurrency).toBe(4);
    expect(c.leaseNamespace).toBe("default");
    expect(c.leaseDurationMs).toBe(15_000);
    expect(c.identity).toMatch(/-\d+$/);
    expect(c.apiTimeoutMs).toBe(30_000);
    expect(loadConfig({ PAGODA_OPERATOR_API_TIMEOUT_SECONDS: "2.5" }).apiTimeoutMs).toBe(2_500);
    expect(c.baseDomain).toBe("pagoda.localhost");
    expect(c.namespaceSelector).toBe("app.kubernetes.io/managed-by=pagoda");
  });

  it("accepts a namespace selector only if it requires a label", () => {
    expect(loadConfig({ PAGODA_OPERATOR_NAMESPACE_SELECTOR: "pagoda.dev/tenant" }).namespaceSelector).toBe("pagoda.dev/tenant");
    expect(loadConfig({ PAGODA_OPERATOR_NAMESPACE_SELECTOR: "a=b, !c" }).namespaceSelector).toBe("a=b, !c");
    for (const bad of ["!pagoda.dev/tenant", "a!=b", "a in (b)", "=b", "a=b,,c"]) {
      expect(() => loadConfig({ PAGODA_OPERATOR_NAMESPACE_SELECTOR: bad }), bad).toThrow(/PAGODA_OPERATOR_NAMESPACE_SELECTOR/);
    }
  });

  it("keeps the default domain inside the base domain", () => {
    expect(loadConfig({ PAGODA_BASE_DOMAIN: "sites.example.com", PAGODA_OPERATOR_DEFAULT_DOMAIN: "sites.example.com" }).defaultDomain).toBe(
      "sites.example.com",
    );
    expect(() => loadConfig({ PAGODA_BASE_DOMAIN: "sites.example.com", PAGODA_OPERATOR_DEFAULT_DOMAIN: "example.com" })).toThrow(
      /PAGODA_OPERATOR_DEFAULT_DOMAIN: must equal PAGODA_BASE_DOMAIN/,
    );
    expect(() => loadConfig({ PAGODA_BASE_DOMAIN: "Sites.Example.com" })).toThrow(/PAGODA_BASE_DOMAIN/);
  });

  it("reads the dashboard's site scheme and port, the scheme following TLS when unset", () => {
    expect(loadConfig({})).toMatchObject({ siteScheme: "http", sitePort: undefined });
    expect(loadConfig({ PAGODA_OPERATOR_TLS: "true" }).siteScheme).toBe("https");
    expect(loadConfig({ PAGODA_SITE_SCHEME: "http", PAGODA_SITE_PORT: "18080" })).toMatchObject({ siteScheme: "http", sitePort: 18080 });
    expect(() => loadConfig({ PAGODA_SITE_SCHEME: "ftp" })).toThrow(/PAGODA_SITE_SCHEME: expected http or https/);
    for (const port of ["0", "65536", "80.5", "http"]) {
      expect(() => loadConfig({ PAGODA_SITE_PORT: port })).toThrow(/PAGODA_SITE_PORT: expected a port number/);
    }
  });

  it("names the variable that is wrong", () => {
    expect(() => loadConfig({ PAGODA_OPERATOR_CONCURRENCY: "lots" })).toThrow(/PAGODA_OPERATOR_CONCURRENCY/);
    expect(() => loadConfig({ PAGODA_OPERATOR_TLS: "maybe" })).toThrow(/PAGODA_OPERATOR_TLS: expected true or false/);
    expect(() => loadConfig({ PAGODA_OPERATOR_IMAGE_PULL_POLICY: "Sometimes" })).toThrow(ConfigError);
    expect(() => loadConfig({ PAGODA_OPERATOR_API_TIMEOUT_SECONDS: "0" })).toThrow(/PAGODA_OPERATOR_API_TIMEOUT_SECONDS/);
    expect(() => loadConfig({ PAGODA_OPERATOR_LEASE_RENEW_SECONDS: "20", PAGODA_OPERATOR_LEASE_DURATION_SECONDS: "15" })).toThrow(
      /PAGODA_OPERATOR_LEASE_RENEW_SECONDS/,
    );
  });

  it("treats empty strings as unset and reads the in-cluster namespace", () => {
    const c = loadConfig({ PAGODA_OPERATOR_INGRESS_CLASS: "", PAGODA_OPERATOR_TLS: "true", PAGODA_OPERATOR_CLUSTER_ISSUER: "le" }, () => "pagoda-system\n");
    expect(c.ingressClass).toBeUndefined();
    expect(c.clusterIssuer).toBe("le");
    expect(c.leaseNamespace).toBe("pagoda-system");
  });

  it("reads the proxy allow-list and its resolver, off when unset", () => {
    expect(loadConfig({}).proxy).toBeUndefined();
    expect(loadConfig({ PAGODA_PROXY_ORIGINS: "http://10.0.0.5:8080" }).proxy).toEqual({ origins: ["http://10.0.0.5:8080"] });
    expect(loadConfig({ PAGODA_PROXY_ORIGINS: "https://API.example.com, http://10.0.0.5:8080", PAGODA_PROXY_RESOLVER: "10.96.0.10" }).proxy).toEqual({
      origins: ["https://api.example.com", "http://10.0.0.5:8080"],
      resolver: "10.96.0.10",
    });
  });

  it("refuses a bad proxy origin or resolver, naming the variable", () => {
    expect(() => loadConfig({ PAGODA_PROXY_ORIGINS: "https://api.example.com/v1" })).toThrow(
      /PAGODA_PROXY_ORIGINS: "https:\/\/api\.example\.com\/v1" is not an origin/,
    );
    expect(() => loadConfig({ PAGODA_PROXY_ORIGINS: "https://api.example.com" })).toThrow(
      /PAGODA_PROXY_RESOLVER: required when PAGODA_PROXY_ORIGINS names a host \(https:\/\/api\.example\.com\)/,
    );
    expect(() => loadConfig({ PAGODA_PROXY_ORIGINS: "https://api.example.com", PAGODA_PROXY_RESOLVER: "dns.local" })).toThrow(
      /PAGODA_PROXY_RESOLVER: expected the IPv4 address of a DNS server/,
    );
    expect(() => loadConfig({ PAGODA_PROXY_RESOLVER: "10.96.0.10" })).toThrow(/PAGODA_PROXY_RESOLVER: set, but PAGODA_PROXY_ORIGINS is not/);
  });
  it("reads the custom-domain settings and refuses combinations that cannot work", () => {
    const c = loadConfig({
      PAGODA_DASHBOARD_HOST: "pagoda.example.com",
      PAGODA_OPERATOR_TLS: "true",
      PAGODA_OPERATOR_CLUSTER_ISSUER: "letsencrypt",
      PAGODA_OPERATOR_WILDCARD_SECRET: "sites-wildcard-tls",
      PAGODA_OPERATOR_HTTPS_REDIRECT_MIDDLEWARE: "pagoda-https-redirect@file",
    });
    expect(c).toMatchObject({
      dashboardHost: "pagoda.example.com",
      wildcardSecret: "sites-wildcard-tls",
      httpsRedirectMiddleware: "pagoda-https-redirect@file",
    });
    expect(loadConfig({})).toMatchObject({ dashboardHost: undefined, wildcardSecret: undefined, httpsRedirectMiddleware: undefined });
    expect(() => loadConfig({ PAGODA_DASHBOARD_HOST: "Pagoda.Example.com" })).toThrow(/PAGODA_DASHBOARD_HOST/);
    expect(() => loadConfig({ PAGODA_OPERATOR_WILDCARD_SECRET: "sites-wildcard-tls" })).toThrow(
      /PAGODA_OPERATOR_WILDCARD_SECRET: set, but PAGODA_OPERATOR_TLS is off/,
    );
    expect(() => loadConfig({ PAGODA_OPERATOR_HTTPS_REDIRECT_MIDDLEWARE: "x@file" })).toThrow(
      /PAGODA_OPERATOR_HTTPS_REDIRECT_MIDDLEWARE: set, but PAGODA_OPERATOR_CLUSTER_ISSUER/,
    );
    expect(() =>
      loadConfig({ PAGODA_OPERATOR_TLS: "true", PAGODA_OPERATOR_CLUSTER_ISSUER: "i", PAGODA_OPERATOR_HTTPS_REDIRECT_MIDDLEWARE: "no provider" }),
    ).toThrow(/expected a Traefik middleware reference/);
  });

  it("takes a ClusterIssuer without TLS: custom domains get certificates, built-in hosts stay plain HTTP", () => {
    const c = loadConfig({ PAGODA_OPERATOR_CLUSTER_ISSUER: "letsencrypt", PAGODA_OPERATOR_HTTPS_REDIRECT_MIDDLEWARE: "pagoda-https-redirect@file" });
    expect(c).toMatchObject({ tls: false, clusterIssuer: "letsencrypt", httpsRedirectMiddleware: "pagoda-https-redirect@file", siteScheme: "http" });
    // The other TLS-only settings still need TLS.
    expect(() => loadConfig({ PAGODA_OPERATOR_CLUSTER_ISSUER: "letsencrypt", PAGODA_OPERATOR_WILDCARD_SECRET: "sites-wildcard-tls" })).toThrow(
      /PAGODA_OPERATOR_WILDCARD_SECRET: set, but PAGODA_OPERATOR_TLS is off/,
    );
  });

  it("has no pool without a pool image, and reads the pool's settings with one", () => {
    expect(loadConfig({}).pool).toBeUndefined();
    expect(loadConfig({ PAGODA_OPERATOR_POOL_IMAGE: "pagoda/pool-agent:1" }).pool).toEqual({
      image: "pagoda/pool-agent:1",
      namespace: "pagoda-serving",
      replicas: 2,
      storeHostPath: undefined,
      storeMaxBytes: undefined,
      mirrorUrl: "http://pagoda-pool.pagoda-serving.svc:8084",
    });
    expect(
      loadConfig({
        PAGODA_OPERATOR_POOL_IMAGE: "pagoda/pool-agent:1",
        PAGODA_OPERATOR_POOL_NAMESPACE: "serving",
        PAGODA_OPERATOR_POOL_REPLICAS: "3",
        PAGODA_OPERATOR_POOL_STORE_HOST_PATH: "/var/lib/pagoda-pool",
        PAGODA_OPERATOR_POOL_STORE_MAX_BYTES: String(2 ** 30),
        PAGODA_OPERATOR_POOL_MIRROR_URL: "http://10.96.0.20:8084/",
      }).pool,
    ).toEqual({
      image: "pagoda/pool-agent:1",
      namespace: "serving",
      replicas: 3,
      storeHostPath: "/var/lib/pagoda-pool",
      storeMaxBytes: 2 ** 30,
      mirrorUrl: "http://10.96.0.20:8084",
    });
    expect(() => loadConfig({ PAGODA_OPERATOR_POOL_IMAGE: "i", PAGODA_OPERATOR_POOL_MIRROR_URL: "pagoda-pool:8084" })).toThrow(
      /PAGODA_OPERATOR_POOL_MIRROR_URL: expected an http\(s\) URL/,
    );
    expect(() => loadConfig({ PAGODA_OPERATOR_POOL_MIRROR_URL: "http://10.96.0.20:8084" })).toThrow(
      /PAGODA_OPERATOR_POOL_MIRROR_URL: set, but PAGODA_OPERATOR_POOL_IMAGE is not/,
    );
  });

  it("names the pool variable that is wrong", () => {
    const pool = { PAGODA_OPERATOR_POOL_IMAGE: "pagoda/pool-agent:1" };
    const cases: [Record<string, string>, RegExp][] = [
      [{ ...pool, PAGODA_OPERATOR_POOL_REPLICAS: "0" }, /PAGODA_OPERATOR_POOL_REPLICAS: expected at least 1 replica/],
      [{ ...pool, PAGODA_OPERATOR_POOL_REPLICAS: "two" }, /PAGODA_OPERATOR_POOL_REPLICAS: expected a whole number/],
      [{ ...pool, PAGODA_OPERATOR_POOL_REPLICAS: "1.5" }, /PAGODA_OPERATOR_POOL_REPLICAS: expected a whole number/],
      [{ ...pool, PAGODA_OPERATOR_POOL_NAMESPACE: "Serving" }, /PAGODA_OPERATOR_POOL_NAMESPACE: expected/],
      [{ ...pool, PAGODA_OPERATOR_POOL_NAMESPACE: "a.b" }, /PAGODA_OPERATOR_POOL_NAMESPACE: expected a namespace name/],
      [{ ...pool, PAGODA_OPERATOR_POOL_STORE_HOST_PATH: "var/lib/pool" }, /PAGODA_OPERATOR_POOL_STORE_HOST_PATH: expected an absolute directory path/],
      [{ ...pool, PAGODA_OPERATOR_POOL_STORE_HOST_PATH: "/var/../etc" }, /PAGODA_OPERATOR_POOL_STORE_HOST_PATH: must not contain \.\./],
      [{ ...pool, PAGODA_OPERATOR_POOL_STORE_MAX_BYTES: "1000" }, /PAGODA_OPERATOR_POOL_STORE_MAX_BYTES: expected at least 64 MiB/],
      [{ PAGODA_OPERATOR_POOL_STORE_HOST_PATH: "/var/lib/pool" }, /PAGODA_OPERATOR_POOL_STORE_HOST_PATH: set, but PAGODA_OPERATOR_POOL_IMAGE is not/],
      [{ ...pool, PAGODA_OPERATOR_LEASE_NAMESPACE: "pagoda-serving" }, /PAGODA_OPERATOR_POOL_NAMESPACE: must not be the lease's namespace/],
    ];
    for (const [env, message] of cases) {
      expect(() => loadConfig(env), JSON.stringify(env)).toThrow(ConfigError);
      expect(() => loadConfig(env), JSON.stringify(env)).toThrow(message);
    }
  });
});
