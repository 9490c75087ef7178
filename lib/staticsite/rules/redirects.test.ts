import { describe, expect, it } from "vitest";
import { MAX_PATTERN_REDIRECT_RULES, MAX_REDIRECT_LINE_LENGTH, MAX_REDIRECT_RULES, MAX_RULES_FILE_BYTES } from "./limits";
import { parseRedirects, type RedirectRule } from "./redirects";

type Rules = [RedirectRule, RedirectRule, RedirectRule, RedirectRule];

/** The rules of a text that must parse; typed as a tuple so that tests can destructure what they wrote. */
function rules(text: string, options = {}): Rules {
  const r = parseRedirects(text, options);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join("\n"));
  return r.rules as Rules;
}

function errors(text: string, options = {}): string[] {
  const r = parseRedirects(text, options);
  if (r.ok) throw new Error("expected errors");
  return r.errors.map((e) => e.message);
}

describe("parseRedirects: the documented syntax", () => {
  it("reads from, to, status and force, skipping comments and blank lines, with line numbers", () => {
    const r = rules(
      "# comment\n\n/home   /   301\n/my-redirect  /  302\n/pass-through /index.html 200\n/ecommerce /store-closed 404\n/app/* /app/index.html 200!\n",
    );
    expect(r.map((x) => [x.line, x.from.source, x.to, x.status, x.force])).toEqual([
      [3, "/home", "/", 301, false],
      [4, "/my-redirect", "/", 302, false],
      [5, "/pass-through", "/index.html", 200, false],
      [6, "/ecommerce", "/store-closed", 404, false],
      [7, "/app/*", "/app/index.html", 200, true],
    ]);
  });

  it("defaults to 301 and accepts every documented status", () => {
    expect(rules("/a /b")[0].status).toBe(301);
    for (const s of [200, 301, 302, 303, 307, 308, 404]) expect(rules(`/a /b ${s}`)[0].status).toBe(s);
    expect(rules("/a /b 301!")[0].force).toBe(true);
  });

  it("accepts tabs, CRLF line ends, a BOM and a trailing comment", () => {
    const r = rules("\uFEFF/a\t/b\t302 # moved\r\n/c /d\r\n");
    expect(r.map((x) => [x.from.source, x.to, x.status])).toEqual([
      ["/a", "/b", 302],
      ["/c", "/d", 301],
    ]);
  });

  it("reads splats and placeholders", () => {
    const [splat, place] = rules("/news/* /blog/:splat\n/news/:month/:date/:year/:slug /blog/:year/:month/:date/:slug");
    expect(splat.from.exact).toBe(false);
    expect(splat.from.trailingSplat).toBe(true);
    expect(splat.names).toEqual(["splat"]);
    expect(place.names).toEqual(["month", "date", "year", "slug"]);
    expect(place.from.tokens.filter((t) => t.kind === "placeholder")).toHaveLength(4);
  });

  it("reads a splat inside a segment, as Cloudflare Pages allows", () => {
    const [r] = rules("/images/*.jpg /img/:splat.jpg 301");
    expect(r.from.tokens).toEqual([{ kind: "literal", text: "/images/" }, { kind: "splat" }, { kind: "literal", text: ".jpg" }]);
    expect(r.from.trailingSplat).toBe(false);
  });

  it("reads query conditions with placeholders and literal values", () => {
    const [a, b] = rules("/store id=:id  /blog/:id  301\n/articles id=:id tag=photos /posts/:id 302");
    expect(a.query).toEqual([{ name: "id", placeholder: "id" }]);
    expect(a.names).toEqual(["id"]);
    expect(b.query).toEqual([
      { name: "id", placeholder: "id" },
      { name: "tag", value: "photos" },
    ]);
  });

  it("reads absolute redirect targets and percent-encoded paths", () => {
    const [a, b] = rules("/blog https://blog.example.com/ 302\n/authors/c%C3%A9line /authors/about-c%C3%A9line");
    expect(a.to).toBe("https://blog.example.com/");
    expect(b.from.tokens).toEqual([{ kind: "literal", text: "/authors/céline" }]);
  });

  it("lets a 200 proxy through only to an allowed origin", () => {
    const [r] = rules("/api/* https://api.example.com/:splat 200", { proxyOrigins: ["https://api.example.com"] });
    expect(r.status).toBe(200);
    expect(r.proxy).toEqual({ origin: "https://api.example.com", rest: "/:splat" });
  });

  it("compares a proxy target's origin after lower-casing it and dropping the scheme's own port", () => {
    const allowed = { proxyOrigins: ["https://api.example.com", "http://10.0.0.5:8080"] };
    const [a, b, c] = rules("/a https://API.Example.com:443/v1 200\n/b http://10.0.0.5:8080?x=:x 200\n/c https://api.example.com 200!", allowed);
    expect(a.proxy).toEqual({ origin: "https://api.example.com", rest: "/v1" });
    expect(b.proxy).toEqual({ origin: "http://10.0.0.5:8080", rest: "?x=:x" });
    expect(c.proxy).toEqual({ origin: "https://api.example.com", rest: "" });
    expect(c.force).toBe(true);
  });
});

describe("parseRedirects: proxy targets that only look allowed", () => {
  const allowed = { proxyOrigins: ["https://api.example.com"] };
  const cases: [string, string][] = [
    ["https://api.example.com.evil.tld/:splat", "proxying to https://api.example.com.evil.tld is not allowed; allowed origins: https://api.example.com"],
    ["https://api.example.com@evil.tld/:splat", "the proxy target https://api.example.com@evil.tld/:splat carries a user name (@); give the origin alone"],
    ["https://evil@api.example.com/:splat", "the proxy target https://evil@api.example.com/:splat carries a user name (@); give the origin alone"],
    ["https://api.example.com:8443/:splat", "proxying to https://api.example.com:8443 is not allowed; allowed origins: https://api.example.com"],
    ["http://api.example.com/:splat", "proxying to http://api.example.com is not allowed; allowed origins: https://api.example.com"],
    // A placeholder in the host or the port is not a URL at all.
    ["https://api.example.com.:splat", "the target https://api.example.com.:splat is not a valid URL"],
    ["https://api.example.com:splat/x", "the target https://api.example.com:splat/x is not a valid URL"],
    ["https://api_example.com/x", "the proxy target https://api_example.com/x does not start with a host name and an optional port"],
    ["https://0x7f.1/x", "the proxy target https://0x7f.1/x does not start with a host name and an optional port"],
    ["https://api.example.com/x#frag", "the proxy target https://api.example.com/x#frag has a fragment (#), which is never sent to a server"],
  ];
  it.each(cases)("%s", (target, message) => {
    expect(errors(`/api/* ${target} 200`, allowed)).toEqual([`line 1: ${message}`]);
  });

  it("still redirects (not proxies) to any origin", () => {
    const [r] = rules("/api/* https://api.example.com.evil.tld/:splat 302");
    expect(r.proxy).toBeUndefined();
  });
});

describe("parseRedirects: refusals, each with its line", () => {
  const cases: [string, string, object?][] = [
    ["/a /b 999", "line 1: status 999 is not a redirect status; give one of 200, 301, 302, 303, 307, 308, 404"],
    ["\n\n/a /b 3o1", "line 3: 3o1 is not a status; give one of 200, 301, 302, 303, 307, 308, 404, optionally followed by !"],
    ["/a", "line 1: /a has no target"],
    ["/a b", "line 1: the target b must be a path starting with / or an http(s) URL"],
    ["a /b", "line 1: the path a must start with /"],
    [
      "https://other.example/* /b",
      "line 1: the path https://other.example/* names a host; rules apply to this site's paths only, so give a path starting with /",
    ],
    ["/a /b 301 Country=au", "line 1: condition Country=au is not supported (country, language, role and cookie conditions are not)"],
    ["/a /b 301 extra", "line 1: unexpected extra after the status"],
    ["/a/*/b/* /c", "line 1: the path /a/*/b/* has 2 splats (*); at most 1 is allowed"],
    ["/a/:x/:x /c", "line 1: placeholder :x appears twice"],
    ["/a/:1x /c", "line 1: placeholder :1x must be a letter followed by letters, digits or _"],
    ["/a/:splat /c", "line 1: :splat is the name of what * matches; name the placeholder otherwise"],
    ["/:a/:b/:c/:d/:e/:f/:g/:h/:i /x", "line 1: the path /:a/:b/:c/:d/:e/:f/:g/:h/:i has 9 placeholders; at most 8 are allowed"],
    ["/a /b{c}", 'line 1: the target /b{c} contains "{", which must be percent-encoded'],
    ['/a /b"c', 'line 1: the target /b"c contains "\\"", which must be percent-encoded'],
    ["/a\\b /c", 'line 1: the path /a\\b contains "\\\\", which must be percent-encoded'],
    ["/a /b%zz", 'line 1: the target /b%zz has a "%" that is not a percent escape'],
    ["/a%0A /b", "line 1: %0A decodes to a control character"],
    ["/a%00 /b", "line 1: %00 decodes to a control character"],
    ["/a%FF /b", "line 1: /a%FF decodes to bytes that are not UTF-8"],
    ["/a%3Fb /c", 'line 1: %3F (an encoded "?") cannot be matched in a path'],
    ["/a?b=1 /c", 'line 1: the path /a?b=1 contains "?"; query conditions follow the path as name=value'],
    ["/café /b", 'line 1: "é" is not ASCII; percent-encode it (paths are matched as URLs)'],
    ["/a\u0000 /b", "line 1: the line contains the control character NUL"],
    ["/a /b\u000b", "line 1: the line contains the control character U+000B"],
    ["/a /b\r/c /d", "line 1: the line contains the control character U+000D"],
    ["/a //evil.example 301", "line 1: the target //evil.example starts with //, which browsers read as another host"],
    [
      "/api/* https://api.example.com/:splat 200",
      "line 1: proxying to another origin (200 to https://api.example.com/:splat) is not enabled on this platform; use a redirect status",
    ],
    [
      "/api/* https://evil.example/:splat 200",
      "line 1: proxying to https://evil.example is not allowed; allowed origins: https://api.example.com",
      { proxyOrigins: ["https://api.example.com"] },
    ],
    ["/a https://example.com/x 404", "line 1: a 404 rule serves a page of this site; its target must be a path, not https://example.com/x"],
    ["/a /b?x=1 200", "line 1: a 200 rule serves a file of this site; its target /b?x=1 cannot carry a query or fragment"],
    ["/a /a/ 301", "line 1: the rule sends /a to itself"],
    ["/a /b%0A.html 200", "line 1: %0A decodes to a control character"],
    ["/store id /b", "line 1: query condition id needs a value: id=:name or id=text"],
    ["/store i$d=:x /b", 'line 1: query parameter name "i$d" must be letters, digits or -._~'],
    ['/store id=a"b /b', 'line 1: query value "a\\"b" must be percent-encoded'],
  ];
  it.each(cases)("%j", (text, message, options) => {
    expect(errors(text, options)).toEqual([message]);
  });

  it("reports every bad line, not just the first, and keeps the good ones out", () => {
    const r = parseRedirects("/ok /fine\n/a /b 999\n/c\n/d /e 302");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.line)).toEqual([2, 3]);
  });

  it("refuses a line longer than the limit, a file over its size and too many rules", () => {
    const long = "/" + "a".repeat(MAX_REDIRECT_LINE_LENGTH) + " /b";
    expect(errors(long)).toEqual([`line 1: the line is ${long.length} characters long; at most ${MAX_REDIRECT_LINE_LENGTH} are allowed`]);
    const big = "#".repeat(MAX_RULES_FILE_BYTES + 1);
    expect(errors(big)).toEqual([`_redirects is ${MAX_RULES_FILE_BYTES + 1} bytes; at most ${MAX_RULES_FILE_BYTES} are allowed`]);
    const many = Array.from({ length: MAX_REDIRECT_RULES + 1 }, (_, i) => `/p${i} /q`).join("\n");
    expect(errors(many)).toEqual([`line ${MAX_REDIRECT_RULES + 1}: more than ${MAX_REDIRECT_RULES} rules; at most ${MAX_REDIRECT_RULES} are allowed`]);
    const patterns = Array.from({ length: MAX_PATTERN_REDIRECT_RULES + 1 }, (_, i) => `/p${i}/* /q`).join("\n");
    expect(errors(patterns)).toEqual([
      `line ${MAX_PATTERN_REDIRECT_RULES + 1}: more than ${MAX_PATTERN_REDIRECT_RULES} rules with a splat, placeholder or query condition; list exact paths instead`,
    ]);
  });

  it("accepts exactly the limits", () => {
    const many = Array.from({ length: MAX_REDIRECT_RULES }, (_, i) => `/p${i} /q`).join("\n");
    expect(rules(many)).toHaveLength(MAX_REDIRECT_RULES);
  });

  it("allows non-ASCII text in comments", () => {
    expect(rules("# Weiterleitungen für die alte Seite\n/a /b # über\n")).toHaveLength(1);
  });
});
