import { describe, expect, it } from "vitest";
import { AGENT_ENV, AGENT_PORT, MIRROR_PORT } from "../protocol";
import { AGENT_NGINX_ENV, AgentConfigError, loadAgentConfig } from "./config";
import { tokenMatches } from "./api";

const token = "t".repeat(32);

describe("loadAgentConfig", () => {
  it("has the pod's defaults", () => {
    expect(loadAgentConfig({ [AGENT_ENV.token]: token })).toEqual({
      token,
      storeDir: "/var/cache/pagoda-pool",
      workDir: "/var/lib/pagoda-pool",
      storeMaxBytes: 10 * 1024 ** 3,
      podName: undefined,
      nginxBinary: "/usr/sbin/nginx",
      mimeTypesPath: "/etc/nginx/mime.types",
      host: "0.0.0.0",
      apiPort: AGENT_PORT,
      sitePort: 8080,
      controlPort: AGENT_PORT + 1,
      previewPort: AGENT_PORT + 2,
      mirrorPort: MIRROR_PORT,
      previewsMax: 100,
      accessLog: "/dev/stdout",
      errorLog: "/dev/stderr",
    });
  });

  it("names the variable that is wrong", () => {
    expect(() => loadAgentConfig({})).toThrow(/PAGODA_POOL_TOKEN: required/);
    expect(() => loadAgentConfig({ [AGENT_ENV.token]: "short" })).toThrow(/PAGODA_POOL_TOKEN: must be at least 32 characters/);
    expect(() => loadAgentConfig({ [AGENT_ENV.token]: token, [AGENT_ENV.storeDir]: "relative/dir" })).toThrow(
      /PAGODA_POOL_STORE_DIR: expected an absolute path/,
    );
    expect(() => loadAgentConfig({ [AGENT_ENV.token]: token, [AGENT_ENV.storeMaxBytes]: "lots" })).toThrow(/PAGODA_POOL_STORE_MAX_BYTES/);
    expect(() => loadAgentConfig({ [AGENT_ENV.token]: token, [AGENT_NGINX_ENV.apiPort]: "70000" })).toThrow(/PAGODA_POOL_API_PORT/);
    expect(() => loadAgentConfig({ [AGENT_ENV.token]: token, [AGENT_NGINX_ENV.previewsMax]: "0" })).toThrow(/PAGODA_POOL_PREVIEWS_MAX/);
    expect(() => loadAgentConfig({})).toThrow(AgentConfigError);
    expect(() => loadAgentConfig({ [AGENT_ENV.token]: token, [AGENT_NGINX_ENV.proxyOrigins]: "https://api.example.com" })).toThrow(
      /PAGODA_PROXY_RESOLVER: required/,
    );
    expect(() => loadAgentConfig({ [AGENT_ENV.token]: token, [AGENT_NGINX_ENV.proxyOrigins]: "not a url" })).toThrow(/PAGODA_PROXY_ORIGINS/);
  });

  it("reads the store's size and the test ports", () => {
    const c = loadAgentConfig({
      [AGENT_ENV.token]: token,
      [AGENT_ENV.storeMaxBytes]: "1048576",
      [AGENT_NGINX_ENV.sitePort]: "18080",
      [AGENT_NGINX_ENV.listenHost]: "127.0.0.1",
    });
    expect([c.storeMaxBytes, c.sitePort, c.host]).toEqual([1048576, 18080, "127.0.0.1"]);
    expect(loadAgentConfig({ [AGENT_ENV.token]: token, [AGENT_NGINX_ENV.proxyOrigins]: "http://10.0.0.1:8080" }).proxy).toEqual({
      origins: ["http://10.0.0.1:8080"],
    });
  });
});

describe("tokenMatches", () => {
  it("accepts only the exact token, in one header", () => {
    expect(tokenMatches(token, token)).toBe(true);
    expect(tokenMatches(token.slice(1), token)).toBe(false);
    expect(tokenMatches(`${token}x`, token)).toBe(false);
    expect(tokenMatches("", token)).toBe(false);
    expect(tokenMatches(undefined, token)).toBe(false);
    expect(tokenMatches([token, token], token)).toBe(false);
  });
});
