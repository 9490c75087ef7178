// Runs the rendered nginx.conf in a real nginx over real files. Needs the
// `nginx` binary on PATH (Debian: apt-get install nginx).
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CACHE_HTML, CACHE_IMMUTABLE, CACHE_OTHER, renderNginxConfig, type NginxConfigOptions } from "./nginx-config";
import { findFreePort } from "@/scripts/lib/free-port";
import { get, runNginx, type RunningNginx } from "./nginx-test-support";

const JS = "console.log('hello from a fingerprinted bundle');\n".repeat(50);

async function makeSite(root: string): Promise<void> {
  await mkdir(path.join(root, "assets"), { recursive: true });
  await mkdir(path.join(root, "docs"), { recursive: true });
  await writeFile(path.join(root, "index.html"), "<h1>home</h1>\n");
  await writeFile(path.join(root, "docs", "index.html"), "<h1>docs</h1>\n");
  // Named like the docs directory's path with index.html glued on: never what /docs or /docs/ serves.
  await writeFile(path.join(root, "docsindex.html"), "<h1>trap</h1>\n");
  await writeFile(path.join(root, "404.html"), "<h1>custom not found</h1>\n");
  await writeFile(path.join(root, "assets", "app.3f2a9c1b.js"), JS);
  // A marker that only the precompressed sibling contains proves gzip_static served it.
  await writeFile(path.join(root, "assets", "app.3f2a9c1b.js.gz"), gzipSync(JS + "// from .gz\n"));
  await writeFile(path.join(root, "logo.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>\n");
}

async function startNginx(dir: string, opts: Omit<NginxConfigOptions, "listen">): Promise<RunningNginx> {
  const port = await findFreePort();
  const site = path.join(dir, "site");
  const tmp = path.join(dir, "tmp");
  await mkdir(tmp, { recursive: true });
  const conf = renderNginxConfig({
    ...opts,
    listen: `127.0.0.1:${port}`,
    root: site,
    tempDir: tmp,
    errorLog: path.join(dir, "error.log"),
    accessLog: path.join(dir, "access.log"),
  });
  const confPath = path.join(dir, "nginx.conf");
  await writeFile(confPath, conf);
  // When started as root, nginx workers drop to `nobody` and must read the files.
  for (const d of [dir, site, path.join(site, "assets"), path.join(site, "docs"), tmp]) await chmod(d, 0o755);

  return runNginx(dir, confPath, port);
}

describe.each([
  { name: "plain", opts: { spa: false } },
  { name: "spa", opts: { spa: true } },
  { name: "custom 404", opts: { spa: false, notFoundPage: "/404.html" } },
])("nginx serving a site ($name)", ({ name, opts }) => {
  let dir: string;
  let nginx: RunningNginx;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-nginx-"));
    await makeSite(path.join(dir, "site"));
    nginx = await startNginx(dir, opts);
  });

  afterAll(async () => {
    await nginx?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("serves index.html with no-cache and the security headers", async () => {
    const res = await get(nginx.port, "/");
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain("<h1>home</h1>");
    expect(res.headers["cache-control"]).toBe(CACHE_HTML);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
    expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
    expect(res.headers["content-security-policy"]).toBe("frame-ancestors 'self'");
    expect(res.headers["server"]).toBe("nginx");
  });

  it("marks fingerprinted assets immutable and other files short-lived", async () => {
    const js = await get(nginx.port, "/assets/app.3f2a9c1b.js");
    expect(js.status).toBe(200);
    expect(js.headers["cache-control"]).toBe(CACHE_IMMUTABLE);
    expect(js.headers["content-type"]).toMatch(/javascript/);
    const svg = await get(nginx.port, "/logo.svg");
    expect(svg.headers["cache-control"]).toBe(CACHE_OTHER);
  });

  it("serves the precompressed .gz sibling to clients that accept gzip", async () => {
    const gz = await get(nginx.port, "/assets/app.3f2a9c1b.js", { "Accept-Encoding": "gzip" });
    expect(gz.status).toBe(200);
    expect(gz.headers["content-encoding"]).toBe("gzip");
    const { gunzipSync } = await import("node:zlib");
    expect(gunzipSync(gz.body).toString()).toContain("// from .gz");
    const identity = await get(nginx.port, "/assets/app.3f2a9c1b.js");
    expect(identity.headers["content-encoding"]).toBeUndefined();
    expect(identity.body.toString()).not.toContain("// from .gz");
  });

  it("redirects a directory to its slash without leaking the pod port, then serves its index", async () => {
    const redirect = await get(nginx.port, "/docs");
    expect(redirect.status).toBe(301);
    expect(redirect.headers["location"]).toBe("/docs/");
    const docs = await get(nginx.port, "/docs/");
    expect(docs.status).toBe(200);
    expect(docs.body.toString()).toContain("<h1>docs</h1>");
    expect(docs.headers["cache-control"]).toBe(CACHE_HTML);
    expect((await get(nginx.port, "/docs")).body.toString()).not.toContain("trap");
  });

  it("answers the probe path", async () => {
    const res = await get(nginx.port, "/healthz");
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("ok\n");
  });

  it("handles unknown paths as configured", async () => {
    const res = await get(nginx.port, "/no/such/page");
    if (name === "spa") {
      expect(res.status).toBe(200);
      expect(res.body.toString()).toContain("<h1>home</h1>");
      expect(res.headers["cache-control"]).toBe(CACHE_HTML);
    } else if (name === "custom 404") {
      expect(res.status).toBe(404);
      expect(res.body.toString()).toContain("custom not found");
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
    } else {
      expect(res.status).toBe(404);
      expect(res.body.toString()).not.toContain("custom not found");
    }
  });
});
