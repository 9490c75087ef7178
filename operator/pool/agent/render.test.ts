import { describe, expect, it } from "vitest";
import { parseSiteRules } from "../../children";
import { HEALTH_PATH } from "../../nginx-config";
import { DOLLAR_GEO, renderRules } from "../../nginx-rules";
import { renderPoolConfig, siteAtLine, siteLink, variablePrefix, type PoolServerSite } from "./render";

const opts = {
  workDir: "/work",
  listen: "8080",
  controlPort: 8082,
  applyId: "7-1-abc",
  mimeTypesPath: "/etc/nginx/mime.types",
  accessLog: "/dev/stdout",
  errorLog: "/dev/stderr",
};
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const rules = (redirects: string, headers = "") => parseSiteRules({ redirects, headers });

function site(key: string, more: Partial<PoolServerSite> = {}): PoolServerSite {
  return { key, digest: digest("a"), hosts: [`${key.replace("/", "-")}.example`], spa: false, ...more };
}

describe("renderPoolConfig", () => {
  it("has a default server answering 404 and the probe, the control server on loopback, and one server per site", () => {
    const [a, b] = [site("ns/a"), site("ns/b", { digest: digest("b"), hosts: ["b.example", "www.b.example"], spa: true })];
    const text = renderPoolConfig([a, b], opts);
    expect(text).toContain("listen 8080 default_server;\n    server_name _;\n\n    location = /healthz");
    expect(text).toContain(
      'listen 127.0.0.1:8082;\n    access_log off;\n\n    location = /config {\n      default_type text/plain;\n      return 200 "7-1-abc";',
    );
    expect(text).toContain(`listen 8080;\n    server_name ns-a.example;\n    root /work/live/${siteLink(a)};`);
    expect(text).toContain(`listen 8080;\n    server_name b.example www.b.example;\n    root /work/live/${siteLink(b)};`);
    expect(text.match(/^ {2}server \{$/gm)).toHaveLength(4);
    expect(text).toContain("try_files $pagoda_file $uri/ /index.html;");
    expect(text).toContain("pid /work/tmp/nginx.pid;");
    expect(text).not.toContain("geo $pagoda_dollar");
  });

  it("renders the same text for a site whose digest alone moved, and gives it another link when its block changes", () => {
    const a = site("ns/a");
    const moved = site("ns/a", { digest: digest("c") });
    expect(renderPoolConfig([moved], opts)).toBe(renderPoolConfig([a], opts));
    expect(siteLink(moved)).toBe(siteLink(a));
    const others = [
      site("ns/a", { spa: true }),
      site("ns/a", { hosts: ["other.example"] }),
      site("ns/a", { notFoundPage: "/404.html" }),
      site("ns/a", { rules: rules("/old /new 301\n") }),
      site("ns/b"),
    ];
    expect(new Set([a, ...others].map(siteLink)).size).toBe(others.length + 1);
  });

  it("gives a site without hosts no server", () => {
    const text = renderPoolConfig([site("ns/a", { hosts: [] })], opts);
    expect(text.match(/^ {2}server \{$/gm)).toHaveLength(2);
  });

  it("declares $pagoda_dollar once and gives each site's rules variables of its own", () => {
    const a = site("ns/a", { rules: rules("/old /new 301\n/x$ /y 301\n", "/*\n  X-Site: a\n") });
    const b = site("ns/b", { rules: rules("/old /other 302\n", "/*\n  X-Site: b$\n") });
    const text = renderPoolConfig([a, b], opts);
    expect(text.split(DOLLAR_GEO)).toHaveLength(2);
    const [pa, pb] = [variablePrefix("ns/a"), variablePrefix("ns/b")];
    expect(pa).not.toBe(pb);
    expect(text).toContain(`map $uri $${pa}rule_exact {`);
    expect(text).toContain(`map $uri $${pb}rule_exact {`);
    expect(text).toContain(`add_header Cache-Control $${pa}rules_cache_control always;`);
    // Only the shared platform variables keep the bare names.
    expect(text.match(/\$\{?pagoda_[a-z_0-9]+/g)?.filter((v) => !v.includes(pa) && !v.includes(pb))).toEqual(
      expect.arrayContaining(["$pagoda_dollar", "$pagoda_cache_control"]),
    );
    expect(new Set(text.match(/\$\{?pagoda_[a-z_0-9]+/g)?.filter((v) => !v.includes(pa) && !v.includes(pb)))).toEqual(
      new Set(["$pagoda_dollar", "${pagoda_dollar", "$pagoda_cache_control", "$pagoda_file"]),
    );
  });

  it("tells whose text a line of the file is: a site's rules, a site's server, or the pool's own", () => {
    const text = renderPoolConfig([site('ns/"a"', { rules: rules("/old /new 301\n") }), site("ns/b")], opts);
    const lines = text.split("\n");
    const at = (needle: string, from = 0) => lines.findIndex((l, i) => i >= from && l.includes(needle)) + 1;
    expect(siteAtLine(text, at("worker_processes"))).toBeUndefined();
    expect(siteAtLine(text, at("rule_exact {"))).toBe('ns/"a"');
    expect(siteAtLine(text, at("server_name _;"))).toBeUndefined();
    expect(siteAtLine(text, at("location = /config"))).toBeUndefined();
    expect(siteAtLine(text, at('server_name ns-"a".example'))).toBe('ns/"a"');
    expect(siteAtLine(text, at("location /", at("server_name ns-b.example")))).toBe("ns/b");
  });

  it("refuses an apply id that is not a plain token", () => {
    expect(() => renderPoolConfig([], { ...opts, applyId: 'x"; }' })).toThrow(/plain token/);
  });

  it("sizes the server names hash for long host names", () => {
    const long = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.example`;
    expect(renderPoolConfig([site("ns/a", { hosts: [long] })], opts)).toContain("server_names_hash_bucket_size 1024;");
  });
});

describe("renderPoolConfig previews", () => {
  const withPreviews = { ...opts, previewPort: 8083 };
  const ref = "b".repeat(12);

  it("sends preview-shaped hosts no server names to the agent's loopback listener, and its 404 becomes nginx's own", () => {
    const text = renderPoolConfig([site("ns/a")], withPreviews);
    expect(text).toContain('server_name "~^[0-9a-f]{12}--";\n\n    location / {\n      proxy_pass http://127.0.0.1:8083;');
    expect(text).toContain("proxy_intercept_errors on;\n      error_page 404 = @unknown;");
    // A visitor cannot pass for the mirror that marks a preview used.
    expect(text).toContain('proxy_set_header X-Pagoda-Preview-Used "";');
    expect(siteAtLine(text, text.split("\n").findIndex((l) => l.includes("127.0.0.1:8083;")) + 1)).toBeUndefined();
    expect(renderPoolConfig([site("ns/a")], opts)).not.toContain("8083");
  });

  it("serves a preview with the site's settings and rules at its own tree, with noindex on every answer", () => {
    const a = site("ns/a", {
      notFoundPage: "/404.html",
      rules: rules("/old /new 301\n", "/*\n  X-Site: a\n"),
      previews: [{ host: `${ref}--ns-a.example`, digest: digest("b") }],
    });
    const text = renderPoolConfig([a], withPreviews);
    const [main, preview] = text.split(`# site "ns/a" previews`);
    expect(preview).toContain(`server_name ${ref}--ns-a.example;\n    root /work/sites/${"b".repeat(64)};`);
    expect(preview).toContain('add_header X-Robots-Tag "noindex" always;');
    expect(preview).toContain("error_page 404 /404.html;");
    expect(preview).toContain(`add_header Cache-Control $${variablePrefix("ns/a")}rules_cache_control always;`);
    expect(preview).toContain("mirror /.pagoda-pool/preview-used;");
    expect(preview).toContain('proxy_set_header X-Pagoda-Preview-Used "1";');
    expect(preview).toContain("internal;");
    // The site's own server is the same as without previews, and carries no noindex.
    expect(main).not.toContain("X-Robots-Tag");
    expect(main).toContain(`server_name ns-a.example;\n    root /work/live/${siteLink(a)};`);
    expect(siteAtLine(text, text.split("\n").findIndex((l) => l.includes("X-Robots-Tag")) + 1)).toBe("ns/a");
  });

  it("serves the previews of a site without hosts, and no server of its own", () => {
    const text = renderPoolConfig([site("ns/a", { hosts: [], previews: [{ host: `${ref}--ns-a.example`, digest: digest("b") }] })], withPreviews);
    expect(text).not.toContain("/work/live/");
    expect(text).toContain(`server_name ${ref}--ns-a.example;`);
  });

  it("refuses to render a preview without the agent's preview port", () => {
    expect(() => renderPoolConfig([site("ns/a", { previews: [{ host: `${ref}--ns-a.example`, digest: digest("b") }] })], opts)).toThrow(/preview port/);
  });
});

describe("renderRules variable prefix", () => {
  const parsed = rules("/old /new 301\n/blog/* /news/:splat 302\n", "/*\n  X-A: 1\n/p/*\n  ! X-A\n");

  it("is today's names by default, and the same text with the default prefix given", () => {
    const plain = renderRules(parsed!, { spa: false, reservedPaths: [HEALTH_PATH] });
    expect(renderRules(parsed!, { spa: false, reservedPaths: [HEALTH_PATH], variablePrefix: "pagoda_" })).toEqual(plain);
    expect(plain.httpBlock).toContain(DOLLAR_GEO);
  });

  it("renames every declared variable, and only those", () => {
    const plain = renderRules(parsed!, { spa: false, reservedPaths: [HEALTH_PATH] });
    const other = renderRules(parsed!, { spa: false, reservedPaths: [HEALTH_PATH], variablePrefix: "pagoda_k1_", sharedDollar: true });
    expect(other.httpBlock).not.toContain("geo $pagoda_dollar");
    expect(`${other.httpBlock}${other.serverBlock}`).not.toMatch(/\$\{?pagoda_(rule|hm_|hv_)/);
    expect(other.serverBlock.replaceAll("pagoda_k1_", "pagoda_")).toBe(plain.serverBlock);
    expect(other.httpBlock.replaceAll("pagoda_k1_", "pagoda_")).toBe(plain.httpBlock.replace(DOLLAR_GEO, ""));
  });

  it("refuses a prefix nginx would read as something else", () => {
    expect(() => renderRules(parsed!, { spa: false, reservedPaths: [], variablePrefix: "x; }" })).toThrow(/variable prefix/);
  });
});
