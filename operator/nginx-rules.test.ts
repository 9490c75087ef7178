import { describe, expect, it } from "vitest";
import { parseHeaders, parseRedirects, type HeaderRule, type RedirectRule } from "@/lib/staticsite/rules";
import { pcreLiteral, quoteValue, renderRules, type ProxySettings } from "./nginx-rules";

function compile(redirects: string, headers = "", spa = false) {
  const r = parseRedirects(redirects);
  const h = parseHeaders(headers);
  if (!r.ok || !h.ok) throw new Error(JSON.stringify([r, h]));
  return renderRules({ redirects: r.rules as RedirectRule[], headers: h.rules as HeaderRule[] }, { spa, reservedPaths: ["/healthz"] });
}

/** Every line of a map block, for asserting what goes to the hash and what to the ordered regexes. */
function mapBody(text: string, variable: string): string[] {
  const start = text.indexOf(` ${variable} {\n`);
  expect(start, variable).toBeGreaterThan(-1);
  const body = text.slice(start, text.indexOf("\n  }", start));
  return body
    .split("\n")
    .slice(1)
    .map((l) => l.trim());
}

describe("renderRules", () => {
  it("is deterministic: the same rules give the same text", () => {
    const text = "/a /b\n/blog/* /news/:splat 302\n/store id=:id /p/:id\n";
    const headers = "/*\n  X-A: 1\n/x\n  ! X-A\n";
    expect(compile(text, headers)).toEqual(compile(text, headers));
  });

  it("puts exact paths (and their slash twins) in the hash and patterns in file order", () => {
    const out = compile("/a /x\n/blog/* /news/:splat 302\n/c/ /y\n/p/:id /q/:id\n");
    expect(mapBody(out.httpBlock, "$pagoda_rule_exact")).toEqual([
      'default "";',
      '"/healthz" "-";',
      '"/healthz/" "-";',
      '"/a" "0";',
      '"/a/" "0";',
      '"/c/" "2";',
      '"/c" "2";',
    ]);
    expect(mapBody(out.httpBlock, "$pagoda_rule_pattern")).toEqual([
      'default "";',
      '"~^/blog(?:/(?<pr_splat>[^?\\\\x00-\\\\x20\\\\x7f]*))?\\\\x3f" "1";',
      '"~^/p/(?<pr_id>[^/?\\\\x00-\\\\x20\\\\x7f]+)/?\\\\x3f" "3";',
    ]);
  });

  it("keeps first-match-wins: an exact rule after a pattern that can match it goes among the patterns", () => {
    const out = compile("/pat/* /pattern\n/pat/exact /exact\n/other /o\n");
    expect(mapBody(out.httpBlock, "$pagoda_rule_exact")).toContain('"/other" "2";');
    expect(mapBody(out.httpBlock, "$pagoda_rule_exact").join("\n")).not.toContain("/pat/exact");
    expect(mapBody(out.httpBlock, "$pagoda_rule_pattern")[2]).toBe('"~^/pat/exact/?\\\\x3f" "1";');
  });

  it("drops a later duplicate of an exact path", () => {
    const out = compile("/a /one\n/a /two 302\n");
    expect(mapBody(out.httpBlock, "$pagoda_rule_exact").filter((l) => l.startsWith('"/a"'))).toEqual(['"/a" "0";']);
  });

  it("keeps the query string on redirects unless the rule matched on it or the target has one", () => {
    const out = compile("/a /b\n/c /d?x=1\n/store id=:id /p/:id\n/e /f 200\n");
    expect(mapBody(out.httpBlock, "$pagoda_rule_target")).toEqual([
      'default "";',
      '"0" "/b$is_args$args";',
      '"1" "/d?x=1";',
      '"2" "/p/${pr_id}";',
      '"3" "/f";',
    ]);
  });

  it("matches query conditions with lookaheads that need no $ in the configuration", () => {
    const out = compile("/s q=:q type=photos /p/:q 302\n");
    const line = mapBody(out.httpBlock, "$pagoda_rule_pattern")[1];
    expect(line).toBe('"~^/s/?\\\\x3f(?=(?:.*&)?q=(?<pr_q>[^&\\\\x00-\\\\x20\\\\x7f]*)(?![^&]))(?=(?:.*&)?type=photos(?![^&]))" "0";');
  });

  it("guards a capture that a target puts right after its leading slash", () => {
    const out = compile("/go/* /:splat\n/keep/* /k/:splat\n");
    const [, go, keep] = mapBody(out.httpBlock, "$pagoda_rule_pattern");
    expect(go).toContain("(?<pr_splat>(?!/|\\\\x5c)");
    expect(keep).not.toContain("(?!/|");
  });

  it("prefixes placeholder variables, so :uri cannot reach nginx's $uri", () => {
    const out = compile("/a/:uri /b/:uri\n");
    expect(out.httpBlock).toContain("(?<pr_uri>");
    expect(mapBody(out.httpBlock, "$pagoda_rule_target")[1]).toBe('"0" "/b/${pr_uri}$is_args$args";');
  });

  it("sizes the map hash for many and long keys", () => {
    const many = Array.from({ length: 2000 }, (_, i) => `/page-${i}-${"x".repeat(100)} /new`).join("\n");
    expect(compile(many).httpSettings).toBe("  map_hash_bucket_size 1024;\n  map_hash_max_size 16384;\n");
    expect(compile("/a /b").httpSettings).toBe("  map_hash_bucket_size 128;\n  map_hash_max_size 2048;\n");
  });

  it("compiles headers: one match flag per rule, removals and the site's Cache-Control", () => {
    const out = compile("", "/*\n  X-A: 1\n  Cache-Control: max-age=5\n/private/*\n  ! X-A\n/nocache\n  ! Cache-Control\n");
    expect(mapBody(out.httpBlock, "$pagoda_hm_0")).toEqual(['default "";', '"~^(?:/(?<pr_splat>[^?\\\\x00-\\\\x20\\\\x7f]*))?$" "1";']);
    expect(mapBody(out.httpBlock, "$pagoda_hm_2")).toEqual(['default "";', '"/nocache" "1";', '"/nocache/" "1";']);
    expect(out.httpBlock).toContain('map "$pagoda_hm_0:$pagoda_hm_1" $pagoda_hv_0_0 {\n    default "";\n    "1:" "1";\n  }');
    expect(mapBody(out.httpBlock, "$pagoda_rules_cache_control")).toEqual([
      "default $pagoda_cache_control;",
      '"~^(?:/(?<pr_splat>[^?\\\\x00-\\\\x20\\\\x7f]*))?$" "max-age=5";',
      '"~^/nocache/?$" "";',
    ]);
    expect(out.serverBlock).toContain("    add_header X-A $pagoda_hv_0_0 always;\n");
  });

  it("falls back to the SPA's index.html or to 404 after the rules", () => {
    expect(compile("/a /b", "", true).serverBlock).toContain("try_files /index.html =404;");
    expect(compile("/a /b", "", false).serverBlock).toContain("      return 404;\n    }");
  });
});

describe("proxy rules", () => {
  const API = "https://api.example.com";
  const LOCAL = "http://127.0.0.1:9000";
  function proxied(redirects: string, proxy: ProxySettings | null = { origins: [API, LOCAL], resolver: "10.96.0.10" }) {
    const r = parseRedirects(redirects, { proxyOrigins: [API, LOCAL] });
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join("\n"));
    return renderRules({ redirects: r.rules, headers: [] }, { spa: false, reservedPaths: [], proxy: proxy ?? undefined });
  }

  it("proxies to the allowed origin with the matched path, the query string kept, and safe characters only in captures", () => {
    const out = proxied("/api/* https://api.example.com/v1/:splat 200\n/u/:id http://127.0.0.1:9000/users/:id 200!\n");
    expect(mapBody(out.httpBlock, "$pagoda_rule_target")).toEqual([
      'default "";',
      '"0" "https://api.example.com/v1/${pr_splat}$is_args$args";',
      '"1" "http://127.0.0.1:9000/users/${pr_id}$is_args$args";',
    ]);
    expect(mapBody(out.httpBlock, "$pagoda_rule_action")).toEqual(['default "";', '"0" "proxy";', '"1" "proxy!";']);
    expect(mapBody(out.httpBlock, "$pagoda_rule_pattern")).toEqual([
      'default "";',
      String.raw`"~^/api(?:/(?<pr_splat>[A-Za-z0-9/\\x2d\\x2e\\x5f\\x7e\\x21\\x24\\x26\\x27\\x28\\x29\\x2a\\x2b\\x2c\\x3b\\x3d\\x3a\\x40]*))?\\x3f" "0";`,
      String.raw`"~^/u/(?<pr_id>[A-Za-z0-9\\x2d\\x2e\\x5f\\x7e\\x21\\x24\\x26\\x27\\x28\\x29\\x2a\\x2b\\x2c\\x3b\\x3d\\x3a\\x40]+)/?\\x3f" "1";`,
    ]);
    expect(out.serverBlock).toContain('    if ($pagoda_rule_do = "proxy!") {\n      rewrite ^ /.pagoda-rule-proxy last;\n    }');
    expect(out.serverBlock).toContain(
      '      if ($pagoda_rule_do = "proxy") {\n        set $pagoda_rule_do "";\n        rewrite ^ /.pagoda-rule-proxy last;\n      }',
    );
    for (const line of [
      "proxy_pass $pagoda_rule_target;",
      "resolver 10.96.0.10 valid=30s ipv6=off;",
      "proxy_set_header Host $proxy_host;",
      'proxy_set_header Cookie "";',
      "proxy_hide_header Set-Cookie;",
      "proxy_ssl_server_name on;",
      "proxy_ssl_verify on;",
      "proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;",
      "proxy_read_timeout 30s;",
    ]) {
      expect(out.serverBlock).toContain(`      ${line}\n`);
    }
    expect(out.cacheControlVariable).toBe("$pagoda_rules_cache_control_sent");
  });

  it("renders nothing for proxies, and no TLS settings for http origins, when a site has none", () => {
    const none = proxied("/a /b 302\n");
    expect(none.serverBlock).not.toContain("proxy");
    expect(none.cacheControlVariable).toBe("$pagoda_rules_cache_control");
    const plain = proxied("/api/* http://127.0.0.1:9000/:splat 200\n", { origins: [LOCAL] });
    expect(plain.serverBlock).toContain("proxy_pass $pagoda_rule_target;");
    expect(plain.serverBlock).not.toContain("proxy_ssl");
    expect(plain.serverBlock).not.toContain("resolver");
  });

  it("refuses again, from the target's text, an origin the operator does not allow", () => {
    expect(() => proxied("/api/* https://api.example.com/:splat 200\n", null)).toThrow(
      "_redirects line 1: proxying to another origin (200 to https://api.example.com/:splat) is not enabled on this platform",
    );
    expect(() => proxied("/api/* https://api.example.com/:splat 200\n", { origins: [LOCAL] })).toThrow(
      "_redirects line 1: proxying to https://api.example.com is not allowed; allowed origins: http://127.0.0.1:9000",
    );
    // A rule object whose parsed origin disagrees with its text is not trusted.
    const r = parseRedirects("/api/* http://127.0.0.1:9000/:splat 200", { proxyOrigins: [LOCAL] });
    if (!r.ok) throw new Error("parse");
    const forged = [{ ...r.rules[0]!, proxy: { origin: API, rest: "/:splat" } }];
    expect(() =>
      renderRules({ redirects: forged, headers: [] }, { spa: false, reservedPaths: [], proxy: { origins: [API, LOCAL], resolver: "10.0.0.1" } }),
    ).toThrow("_redirects line 1: the proxy target http://127.0.0.1:9000/:splat was not parsed by this operator");
  });

  it("needs a resolver for an origin named by host, not for an IP", () => {
    expect(() => proxied("/api/* https://api.example.com/:splat 200\n", { origins: [API] })).toThrow(
      "_redirects line 1: proxying to https://api.example.com needs a DNS resolver (PAGODA_PROXY_RESOLVER)",
    );
  });
});

describe("escaping", () => {
  it("turns every byte but [A-Za-z0-9/_~%-] into \\xHH in regexes", () => {
    expect(pcreLiteral("/a.b$c\"d\\e{f}g;h i'é")).toBe("/a\\x2eb\\x24c\\x22d\\x5ce\\x7bf\\x7dg\\x3bh\\x20i\\x27\\xc3\\xa9");
  });

  it("quotes values, escaping quotes and backslashes and turning $ into a variable", () => {
    expect(quoteValue('a"b\\c$d;e{f}')).toBe('"a\\"b\\\\c${pagoda_dollar}d;e{f}"');
  });

  it("leaves nothing of a hostile value outside its quotes", () => {
    const out = compile("/a /b;c'd$e 301\n/%22%7B%7D%5C /x\n", '/*\n  X-A: "; } server { listen 1; } # $uri \\\n');
    const text = out.httpBlock + out.serverBlock;
    // Each hostile character appears only escaped or inside a quoted string that the lexer reads as one token.
    expect(text).toContain('"0" "/b;c\'d${pagoda_dollar}e$is_args$args";');
    expect(text).toContain('"/\\"{}\\\\" "1";');
    expect(text).toContain('"1" "\\"; } server { listen 1; } # ${pagoda_dollar}uri \\\\";');
    expect(text).not.toMatch(/^\s*server \{/m);
  });
});
