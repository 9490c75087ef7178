// Runs a site's compiled `_redirects` and `_headers` in a real nginx over real
// files. Needs the `nginx` binary on PATH (Debian: apt-get install nginx).
import { execFile } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_PATTERN_REDIRECT_RULES, MAX_REDIRECT_RULES } from "@/lib/staticsite/rules";
import { MAX_PLACEHOLDER_NAME_LENGTH } from "@/lib/staticsite/rules/limits";
import { findFreePort } from "@/scripts/lib/free-port";
import { get, runNginx, type RunningNginx } from "./nginx-test-support";
import { parseSiteRules, RulesInvalidError } from "./children";
import { CACHE_HTML, CACHE_IMMUTABLE, CACHE_OTHER, renderNginxConfig, type NginxConfigOptions } from "./nginx-config";
import type { ProxySettings, SiteRules } from "./nginx-rules";

const run = promisify(execFile);

// The whole nginx.conf the operator renders for a site with these rules:
// parsed again from the StaticSite's text, as children.ts does, and rendered
// by the real renderNginxConfig.
function renderConfigWithRules(opts: NginxConfigOptions, rules: SiteRules): string {
  return renderNginxConfig({ ...opts, rules });
}

function parsed(redirects: string, headers: string, proxy?: ProxySettings): SiteRules {
  const rules = parseSiteRules({ redirects, headers }, proxy);
  if (!rules) throw new Error("no rules");
  return rules;
}

const JS = "console.log('a fingerprinted bundle');\n".repeat(50);

async function makeSite(root: string): Promise<void> {
  const files: Record<string, string | Buffer> = {
    "index.html": "<h1>home</h1>\n",
    "404.html": "<h1>custom not found</h1>\n",
    "en/404.html": "<h1>english not found</h1>\n",
    "docs/index.html": "<h1>docs</h1>\n",
    "logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>\n",
    "forced.html": "<h1>the file under a forced rule</h1>\n",
    "shadowed.html": "<h1>the file wins</h1>\n",
    "assets/app.3f2a9c1b.js": JS,
    // Only the precompressed sibling holds this marker, so a body that has it came from gzip_static.
    "assets/app.3f2a9c1b.js.gz": gzipSync(JS + "// from .gz\n"),
    "private/report.html": "<h1>report</h1>\n",
    "hostile.html": "<h1>hostile</h1>\n",
    "café & co.html": "<h1>an encoded name</h1>\n",
    // The artifact keeps both rules files; nginx must not serve them.
    _redirects: "/old /new 301\n",
    _headers: "/*\n  X-Site: pagoda\n",
  };
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
}

async function chmodTree(dir: string): Promise<void> {
  // When started as root, nginx workers drop to `nobody` and must read the files.
  await run("chmod", ["-R", "a+rX", dir]);
}

async function startNginx(dir: string, opts: Omit<NginxConfigOptions, "listen">, redirects: string, headers: string): Promise<RunningNginx> {
  const port = await findFreePort();
  const site = path.join(dir, "site");
  const tmp = path.join(dir, "tmp");
  await mkdir(tmp, { recursive: true });
  const conf = renderConfigWithRules(
    { ...opts, listen: `127.0.0.1:${port}`, root: site, tempDir: tmp, errorLog: path.join(dir, "error.log"), accessLog: path.join(dir, "access.log") },
    parsed(redirects, headers, opts.proxy),
  );
  const confPath = path.join(dir, "nginx.conf");
  await writeFile(confPath, conf);
  await chmod(dir, 0o755);
  await chmodTree(dir);
  return runNginx(dir, confPath, port);
}

const REDIRECTS = `# Every status, the default, and the query string kept on redirects
/old /new 301
/old-302 /new 302
/see-other /new 303
/temp /new 307
/perm /new 308
/default /new

# Shadowing: a file at the path wins over an unforced rule; ! forces
/shadowed.html /elsewhere 301
/forced.html /logo.svg 200!
/docs /moved-docs 301

# Splats and placeholders
/blog/* /news/:splat 302
/posts/:year/:slug /articles/:slug?year=:year 301
/images/*.jpg /img/:splat.webp 301

# Query conditions
/store id=:id /products/:id 301
/search q=:q type=photos /photos/:q 302

# Rewrites and 404 rules
/app/* /index.html 200
/encoded /caf%C3%A9%20%26%20co.html 200
/en/* /en/404.html 404
/gone /404.html 404!

# Absolute targets
/ext https://example.com/landing 301
/ext/* https://example.com/:splat 302

# First match wins
/first /one 301
/first /two 302
/pat/* /pattern 301
/pat/exact /exact-target 301

# Hostile but valid
/go/* /:splat 301
/dollar$ /cash$$x 301
/quoted /a'b;c(d)*e 301
/semi;colon /x 301
/v1.0/* /v/:splat 301
/p(1)+/* /paren/:splat 301
/%22quote%7Bbrace%7D /literal 301
`;

const HEADERS = `/assets/*
  Cache-Control: public, max-age=60
  X-Asset: yes
/*
  X-Site: pagoda
  X-Multi: one
  X-Multi: two
/private/*
  ! X-Site
  X-Robots-Tag: noindex
/nocache
  ! Cache-Control
/blog/:slug
  X-Blog: post
/hostile.html
  X-Hostile: a"b\\c$d;e{f}'g #h
  Content-Security-Policy: default-src 'self'
`;

interface Case {
  name: string;
  path: string;
  send?: Record<string, string>;
  status: number;
  location?: string | null;
  headers?: Record<string, string | null>;
  body?: string;
}

const CASES: Case[] = [
  { name: "301 keeps the query string", path: "/old?utm=x&y=1", status: 301, location: "/new?utm=x&y=1" },
  { name: "301 without a query", path: "/old", status: 301, location: "/new" },
  { name: "a trailing slash matches the same rule", path: "/old/", status: 301, location: "/new" },
  { name: "302", path: "/old-302", status: 302, location: "/new" },
  { name: "303", path: "/see-other", status: 303, location: "/new" },
  { name: "307", path: "/temp", status: 307, location: "/new" },
  { name: "308", path: "/perm", status: 308, location: "/new" },
  { name: "no status means 301", path: "/default", status: 301, location: "/new" },
  { name: "an unforced rule is shadowed by a file", path: "/shadowed.html", status: 200, location: null, body: "the file wins" },
  { name: "a forced rule applies over an existing file", path: "/forced.html", status: 200, body: "<svg", headers: { "content-type": "image/svg+xml" } },
  { name: "an unforced rule is shadowed by a directory", path: "/docs", status: 301, location: "/docs/" },
  { name: "splat substitution", path: "/blog/2024/hello", status: 302, location: "/news/2024/hello" },
  { name: "a trailing splat matches the bare path", path: "/blog", status: 302, location: "/news/" },
  { name: "placeholders reorder into path and query", path: "/posts/2023/my-post", status: 301, location: "/articles/my-post?year=2023" },
  { name: "a placeholder is one segment", path: "/posts/2023/a/b", status: 404, body: "custom not found" },
  { name: "a splat inside a segment", path: "/images/cat.jpg", status: 301, location: "/img/cat.webp" },
  { name: "query placeholder", path: "/store?id=42", status: 301, location: "/products/42" },
  { name: "query match among other parameters, in any order", path: "/store?utm=a&id=7&x", status: 301, location: "/products/7" },
  { name: "a query rule without its parameter does not apply", path: "/store", status: 404, body: "custom not found" },
  { name: "two query conditions, literal and placeholder", path: "/search?type=photos&q=cats", status: 302, location: "/photos/cats" },
  { name: "a literal query value must match", path: "/search?type=videos&q=cats", status: 404 },
  {
    name: "200 rewrite to the SPA fallback",
    path: "/app/settings/profile",
    status: 200,
    location: null,
    body: "<h1>home</h1>",
    headers: { "cache-control": CACHE_HTML },
  },
  { name: "a rewrite target is looked up by its decoded name", path: "/encoded", status: 200, body: "an encoded name" },
  { name: "404 rule serves its page with 404", path: "/en/missing", status: 404, body: "english not found" },
  { name: "an existing file shadows a 404 rule", path: "/en/404.html", status: 200, body: "english not found" },
  { name: "forced 404 rule", path: "/gone", status: 404, body: "custom not found" },
  { name: "absolute redirect", path: "/ext", status: 301, location: "https://example.com/landing" },
  { name: "absolute redirect with a splat and the query", path: "/ext/a/b?c=1", status: 302, location: "https://example.com/a/b?c=1" },
  { name: "first match wins among exact rules", path: "/first", status: 301, location: "/one" },
  { name: "an earlier pattern beats a later exact rule", path: "/pat/exact", status: 301, location: "/pattern" },
  { name: "a splat cannot make a redirect leave the site (//)", path: "/go//evil.example", status: 301, location: "/evil.example" },
  { name: "a splat cannot make a redirect leave the site (%2F)", path: "/go/%2F%2Fevil.example", status: 301, location: "/evil.example" },
  { name: "a splat cannot make a redirect leave the site (backslash)", path: "/go/%5Cevil.example", status: 404, location: null },
  { name: "an encoded CRLF does not reach a header", path: "/blog/a%0d%0aSet-Cookie:%20x=1", status: 404, location: null, headers: { "set-cookie": null } },
  { name: "a literal $ in a pattern and a target", path: "/dollar$", status: 301, location: "/cash$$x" },
  { name: "quotes, ; and parentheses in a target", path: "/quoted", status: 301, location: "/a'b;c(d)*e" },
  { name: "a regex character in a pattern is literal (.)", path: "/v1.0/a", status: 301, location: "/v/a" },
  { name: "a regex character in a pattern matches only itself (.)", path: "/v1x0/a", status: 404, location: null },
  { name: "regex characters in a pattern are literal ( ) +", path: "/p(1)+/z", status: 301, location: "/paren/z" },
  { name: "; in a pattern", path: "/semi;colon", status: 301, location: "/x" },
  { name: "decoded quote and braces in a pattern", path: "/%22quote%7Bbrace%7D", status: 301, location: "/literal" },
  { name: "no rule: the custom 404", path: "/nothing/here", status: 404, body: "custom not found", headers: { "x-site": "pagoda" } },
  { name: "the probe path is never subject to rules", path: "/healthz", status: 200, body: "ok" },
  { name: "_redirects is not served", path: "/_redirects", status: 404, body: "custom not found" },
  { name: "_headers is not served", path: "/_headers", status: 404, body: "custom not found", headers: { "x-site": "pagoda" } },
  {
    name: "a header on a precompressed file, with its own Cache-Control",
    path: "/assets/app.3f2a9c1b.js",
    send: { "Accept-Encoding": "gzip" },
    status: 200,
    headers: { "content-encoding": "gzip", "x-asset": "yes", "cache-control": "public, max-age=60", "x-site": "pagoda" },
  },
  {
    name: "the same file uncompressed gets the same headers",
    path: "/assets/app.3f2a9c1b.js",
    status: 200,
    headers: { "content-encoding": null, "x-asset": "yes", "cache-control": "public, max-age=60" },
  },
  { name: "the platform's Cache-Control where no rule sets one", path: "/logo.svg", status: 200, headers: { "cache-control": CACHE_OTHER, "x-asset": null } },
  { name: "a header set twice sends both values", path: "/logo.svg", status: 200, headers: { "x-multi": "one, two" } },
  {
    name: "! removes a header a broader rule sets",
    path: "/private/report.html",
    status: 200,
    headers: { "x-site": null, "x-robots-tag": "noindex", "x-multi": "one, two" },
  },
  { name: "! removes the platform's Cache-Control", path: "/nocache", status: 404, headers: { "cache-control": null } },
  { name: "headers follow the requested path through a redirect", path: "/blog/post-1", status: 302, location: "/news/post-1", headers: { "x-blog": "post" } },
  { name: "headers follow the requested path through a rewrite", path: "/app/x", status: 200, headers: { "x-site": "pagoda", "x-blog": null } },
  { name: "hostile characters in a header value arrive as written", path: "/hostile.html", status: 200, headers: { "x-hostile": "a\"b\\c$d;e{f}'g #h" } },
  {
    name: "a site's CSP is added next to the platform's, not instead of it",
    path: "/hostile.html",
    status: 200,
    headers: { "content-security-policy": "default-src 'self', frame-ancestors 'self'" },
  },
  {
    name: "the security headers stay on rule answers",
    path: "/old",
    status: 301,
    headers: { "x-frame-options": "SAMEORIGIN", "x-content-type-options": "nosniff" },
  },
];

describe("nginx serving a site's _redirects and _headers (custom 404)", () => {
  let dir: string;
  let nginx: RunningNginx;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-nginx-rules-"));
    await makeSite(path.join(dir, "site"));
    nginx = await startNginx(dir, { spa: false, notFoundPage: "/404.html" }, REDIRECTS, HEADERS);
  });

  afterAll(async () => {
    await nginx?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(CASES)("$name: $path", async (c) => {
    const res = await get(nginx.port, c.path, c.send);
    expect(res.status).toBe(c.status);
    if (c.location !== undefined) expect(res.headers["location"] ?? null).toBe(c.location);
    for (const [name, value] of Object.entries(c.headers ?? {})) {
      const got = res.headers[name];
      expect(got === undefined ? null : Array.isArray(got) ? got.join(", ") : got, name).toBe(value);
    }
    if (c.body !== undefined) {
      const body = res.headers["content-encoding"] === "gzip" ? gunzipSync(res.body) : res.body;
      expect(body.toString()).toContain(c.body);
    }
  });

  it("serves the gzip_static sibling under the rules", async () => {
    const res = await get(nginx.port, "/assets/app.3f2a9c1b.js", { "Accept-Encoding": "gzip" });
    expect(gunzipSync(res.body).toString()).toContain("// from .gz");
  });

  it("logs no warning while serving the table", async () => {
    const log = await readFile(path.join(dir, "error.log"), "utf8");
    expect(log.split("\n").filter((l) => / \[(warn|error|crit|alert|emerg)\] /.test(l))).toEqual([]);
  });
});

describe("nginx serving a single-page app with rules", () => {
  let dir: string;
  let nginx: RunningNginx;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-nginx-rules-spa-"));
    await makeSite(path.join(dir, "site"));
    nginx = await startNginx(dir, { spa: true }, "/old /new 301\n/api/* /api-docs.html 404\n/missing-target /nope.html 200\n", "/*\n  X-Site: spa\n");
  });

  afterAll(async () => {
    await nginx?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("applies a rule before the SPA fallback", async () => {
    const res = await get(nginx.port, "/old");
    expect([res.status, res.headers["location"]]).toEqual([301, "/new"]);
  });

  it("falls back to index.html where no file and no rule answer, with the rules' headers", async () => {
    const res = await get(nginx.port, "/deep/link");
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain("<h1>home</h1>");
    expect(res.headers["x-site"]).toBe("spa");
    expect(res.headers["cache-control"]).toBe(CACHE_HTML);
  });

  it("a 404 rule whose page is missing still answers 404", async () => {
    expect((await get(nginx.port, "/api/v1")).status).toBe(404);
  });

  it("a rewrite to a missing file falls back once, without looping", async () => {
    const res = await get(nginx.port, "/missing-target");
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain("<h1>home</h1>");
  });

  it("keeps fingerprinted assets immutable", async () => {
    expect((await get(nginx.port, "/assets/app.3f2a9c1b.js")).headers["cache-control"]).toBe(CACHE_IMMUTABLE);
  });
});

describe("nginx with a forced catch-all rule", () => {
  let dir: string;
  let nginx: RunningNginx;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-nginx-rules-all-"));
    await makeSite(path.join(dir, "site"));
    nginx = await startNginx(dir, { spa: false }, "/* /404.html 404!\n", "");
  });

  afterAll(async () => {
    await nginx?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("answers every path with the rule, the probe path excepted", async () => {
    const page = await get(nginx.port, "/index.html");
    expect([page.status, page.body.toString()]).toEqual([404, "<h1>custom not found</h1>\n"]);
    const probe = await get(nginx.port, "/healthz");
    expect([probe.status, probe.body.toString()]).toEqual([200, "ok\n"]);
  });
});

// What the parser lets through must never make nginx refuse the configuration.
const HOSTILE_REDIRECTS = [
  // The longest placeholder names the parser takes: nginx's regex library allows 32 characters per capture name, prefix included.
  `/p/:${"a".repeat(MAX_PLACEHOLDER_NAME_LENGTH)} /q/:${"a".repeat(MAX_PLACEHOLDER_NAME_LENGTH)} 301`,
  `/p/:${"b".repeat(MAX_PLACEHOLDER_NAME_LENGTH)}/* /q/:splat 200`,
  "/a /b$c 301",
  "/a$b /c 301",
  "/a /$uri 301",
  "/a /b;return;301;x 301",
  "/a /b'c 301",
  "/a/:x /:x$:x;:x 301",
  "/%7B%7D%22%5C%24%3B /b 301",
  "/a%20b /c 301",
  "/a /b#frag 301",
  "/a https://example.com/$1?$args 302",
  "/store id=:id x=%24%7D%22 /b/:id 301",
  "/* /index.html 200",
  "/* /404.html 404!",
  "/x/*.y;z /q/:splat 301",
];
// The limits at their largest: the map hash must be sized for them.
HOSTILE_REDIRECTS.push(
  Array.from({ length: MAX_REDIRECT_RULES - MAX_PATTERN_REDIRECT_RULES }, (_, i) => `/p-${i}-${"x".repeat(100)} /n`)
    .concat(Array.from({ length: MAX_PATTERN_REDIRECT_RULES }, (_, i) => `/q${i}/:a/:b/* /n/:a/:b/:splat`))
    .join("\n"),
);
const HOSTILE_HEADERS = [
  '/*\n  X-A: "; } server { listen 1; } #',
  "/*\n  X-A: \\",
  "/*\n  X-A: $uri ${uri} $",
  "/%7B%7D%22%5C%24/*\n  X-A: b",
  "/a;b\n  X-A: {",
  "/*\n  Cache-Control: max-age=1; } #\n  ! X-B",
];

describe("nginx -t accepts every hostile input the parser lets through", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-nginx-rules-t-"));
    await mkdir(path.join(dir, "tmp"), { recursive: true });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const inputs = [...HOSTILE_REDIRECTS.map((r) => ({ r, h: "" })), ...HOSTILE_HEADERS.map((h) => ({ r: "", h }))];
  it.each(inputs.map((input) => ({ ...input, name: JSON.stringify(input).slice(0, 120) })))("$name", async ({ r, h }) => {
    const conf = renderConfigWithRules(
      {
        spa: false,
        notFoundPage: "/404.html",
        listen: "127.0.0.1:1",
        root: path.join(dir, "site"),
        tempDir: path.join(dir, "tmp"),
        errorLog: path.join(dir, "error.log"),
        accessLog: path.join(dir, "access.log"),
      },
      parsed(r, h),
    );
    const confPath = path.join(dir, "nginx.conf");
    await writeFile(confPath, conf);
    const { stderr } = await run("nginx", ["-t", "-q", "-p", dir, "-e", path.join(dir, "error.log"), "-c", confPath]).catch((e: { stderr: string }) => {
      throw new Error(`nginx -t refused the configuration:\n${e.stderr}`);
    });
    expect(stderr).toBe("");
    // One server and one http block: nothing a person wrote opened or closed a block.
    expect(conf.match(/^\s*server \{$/gm)).toHaveLength(1);
    expect(conf.match(/^http \{$/gm)).toHaveLength(1);
  });
});

describe("nginx proxying a rule to an allowed origin", () => {
  let dir: string;
  let nginx: RunningNginx;
  let upstream: http.Server;
  let origin: string;
  /** What the origin received, in order. */
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; bodyBytes: number }[] = [];

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      let bodyBytes = 0;
      req.on("data", (c: Buffer) => (bodyBytes += c.length));
      req.on("end", () => {
        seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, bodyBytes });
        res.writeHead(req.url?.startsWith("/v1/missing") ? 404 : 200, {
          "Content-Type": "application/json",
          "Cache-Control": "private, max-age=7",
          "Set-Cookie": "planted=1; Domain=pagoda.localhost; Path=/",
          "X-Frame-Options": "ALLOWALL",
          "X-Upstream": "yes",
        });
        res.end(JSON.stringify({ from: "upstream", url: req.url, bodyBytes }));
      });
    });
    upstream.listen(0, "127.0.0.1");
    await once(upstream, "listening");
    const address = upstream.address();
    if (!address || typeof address === "string") throw new Error("no upstream address");
    origin = `http://127.0.0.1:${address.port}`;
    dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-nginx-rules-proxy-"));
    await makeSite(path.join(dir, "site"));
    const redirects = [
      `/api/* ${origin}/v1/:splat 200`,
      `/forced.html ${origin}/forced 200!`,
      `/docs/* ${origin}/docs/:splat 200`,
      `/item/:id ${origin}/items/:id 200`,
    ].join("\n");
    nginx = await startNginx(dir, { spa: false, notFoundPage: "/404.html", proxy: { origins: [origin] } }, redirects, "/api/*\n  X-Api: through-rules\n");
  });

  afterAll(async () => {
    await nginx?.stop();
    upstream?.closeAllConnections();
    if (upstream) await new Promise((resolve) => upstream.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function json(body: Buffer): { from: string; url: string; bodyBytes: number } {
    return JSON.parse(body.toString()) as { from: string; url: string; bodyBytes: number };
  }

  it("answers with the origin's body, the matched path substituted and the query string kept", async () => {
    const res = await get(nginx.port, "/api/users/7?fields=name&x=%26", { Cookie: "session=visitor-secret", Authorization: "Bearer app-token" });
    expect(res.status).toBe(200);
    expect(json(res.body)).toEqual({ from: "upstream", url: "/v1/users/7?fields=name&x=%26", bodyBytes: 0 });
    const got = seen.at(-1);
    expect(got?.headers.host).toBe(origin.slice("http://".length));
    // The visitor's cookies are not the site's to pass on; the app's own Authorization is.
    expect(got?.headers.cookie).toBeUndefined();
    expect(got?.headers.authorization).toBe("Bearer app-token");
    expect(res.headers["x-upstream"]).toBe("yes");
    expect(res.headers["x-api"]).toBe("through-rules");
  });

  it("keeps the origin's Cache-Control, drops its cookies and keeps the platform's security headers", async () => {
    const res = await get(nginx.port, "/api/ping");
    expect(res.headers["cache-control"]).toBe("private, max-age=7");
    expect(res.headers["set-cookie"]).toBeUndefined();
    expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("passes the origin's status through, not the site's 404 page", async () => {
    const res = await get(nginx.port, "/api/missing");
    expect(res.status).toBe(404);
    expect(json(res.body).from).toBe("upstream");
  });

  it("applies a forced proxy over an existing file, and an unforced one only where no file is", async () => {
    expect(json((await get(nginx.port, "/forced.html")).body).url).toBe("/forced");
    const docs = await get(nginx.port, "/docs/");
    expect(docs.body.toString()).toContain("<h1>docs</h1>");
    expect(json((await get(nginx.port, "/docs/elsewhere")).body).url).toBe("/docs/elsewhere");
  });

  it("takes a request body an API needs", async () => {
    const body = Buffer.alloc(64 * 1024, "a");
    const res = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port: nginx.port, method: "POST", path: "/api/upload", headers: { "Content-Length": body.length } },
        (r) => {
          const chunks: Buffer[] = [];
          r.on("data", (c: Buffer) => chunks.push(c));
          r.on("end", () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks) }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(res.status).toBe(200);
    expect(json(res.body)).toEqual({ from: "upstream", url: "/v1/upload", bodyBytes: body.length });
  });

  it.each([
    ["a decoded quote", "/api/a%22b"],
    ["a decoded percent", "/api/100%25"],
  ])("never sends the origin a URL with %s (%s): the rule does not match", async (_what, urlPath) => {
    const before = seen.length;
    const res = await get(nginx.port, urlPath);
    expect(res.headers["x-upstream"]).toBeUndefined();
    expect(seen.length).toBe(before);
  });

  it("is not reachable at its internal location", async () => {
    const before = seen.length;
    expect((await get(nginx.port, "/.pagoda-rule-proxy")).status).toBe(404);
    expect(seen.length).toBe(before);
  });

  it("logs no warning while proxying", async () => {
    const log = await readFile(path.join(dir, "error.log"), "utf8");
    expect(log.split("\n").filter((l) => / \[(warn|error|crit|alert|emerg)\] /.test(l))).toEqual([]);
  });
});

describe("proxy rules the operator refuses or must check with nginx", () => {
  it("refuses a StaticSite's proxy rule when proxying is off or the origin is not allowed", () => {
    const rules = { redirects: "/api/* http://127.0.0.1:9/:splat 200\n" };
    expect(() => parseSiteRules(rules)).toThrow(RulesInvalidError);
    expect(() => parseSiteRules(rules)).toThrow(/^spec\.rules: _redirects line 1: proxying to another origin .* is not enabled on this platform/);
    expect(() => parseSiteRules(rules, { origins: ["http://127.0.0.1:8080"] })).toThrow(
      "spec.rules: _redirects line 1: proxying to http://127.0.0.1:9 is not allowed; allowed origins: http://127.0.0.1:8080",
    );
    expect(() => parseSiteRules({ redirects: "/api/* http://127.0.0.1:8080@evil.tld/:splat 200\n" }, { origins: ["http://127.0.0.1:8080"] })).toThrow(
      /carries a user name/,
    );
  });

  it("nginx -t accepts a proxy to an https origin named by host, with a resolver", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-nginx-rules-proxy-t-"));
    try {
      await mkdir(path.join(dir, "tmp"), { recursive: true });
      const proxy = { origins: ["https://api.example.com"], resolver: "127.0.0.53" };
      const conf = renderConfigWithRules(
        {
          spa: true,
          listen: "127.0.0.1:1",
          root: path.join(dir, "site"),
          tempDir: path.join(dir, "tmp"),
          errorLog: path.join(dir, "error.log"),
          accessLog: path.join(dir, "access.log"),
          proxy,
        },
        parsed("/api/* https://api.example.com/v2/:splat 200\n/u/:id https://api.example.com/users/:id?x=1 200!\n", "", proxy),
      );
      expect(conf).toContain("resolver 127.0.0.53 valid=30s ipv6=off;");
      expect(conf).toContain("proxy_ssl_verify on;");
      const confPath = path.join(dir, "nginx.conf");
      await writeFile(confPath, conf);
      const { stderr } = await run("nginx", ["-t", "-q", "-p", dir, "-e", path.join(dir, "error.log"), "-c", confPath]).catch((e: { stderr: string }) => {
        throw new Error(`nginx -t refused the configuration:\n${e.stderr}`);
      });
      expect(stderr).toBe("");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
