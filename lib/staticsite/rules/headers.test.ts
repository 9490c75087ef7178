import { describe, expect, it } from "vitest";
import { parseHeaders, REFUSED_HEADERS, type HeaderRule } from "./headers";
import { MAX_HEADER_RULES, MAX_HEADERS_LINE_LENGTH, MAX_HEADERS_PER_RULE } from "./limits";

type Rules = [HeaderRule, HeaderRule, HeaderRule];

/** The rules of a text that must parse; typed as a tuple so that tests can destructure what they wrote. */
function rules(text: string): Rules {
  const r = parseHeaders(text);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join("\n"));
  return r.rules as Rules;
}

function errors(text: string): string[] {
  const r = parseHeaders(text);
  if (r.ok) throw new Error("expected errors");
  return r.errors.map((e) => e.message);
}

describe("parseHeaders: the documented syntax", () => {
  it("reads path blocks with indented headers, comments and blank lines", () => {
    const r = rules(
      "# a comment\n/secure/page\n  X-Frame-Options-Report: DENY\n  X-Robots-Tag: nosnippet\n\n/static/*\n  Access-Control-Allow-Origin: *\n  # inside\n  X-Robots-Tag: nosnippet\n",
    );
    expect(r.map((x) => [x.line, x.path.source, x.headers.map((h) => ("value" in h ? `${h.name}=${h.value}` : `!${h.name}`))])).toEqual([
      [2, "/secure/page", ["X-Frame-Options-Report=DENY", "X-Robots-Tag=nosnippet"]],
      [6, "/static/*", ["Access-Control-Allow-Origin=*", "X-Robots-Tag=nosnippet"]],
    ]);
  });

  it("keeps every value of a header given twice, and colons inside values", () => {
    const [r] = rules("/*\n  Cache-Control: max-age=0\n  cache-control: no-store\n  Link: <https://example.com/a.css>; rel=preload\n");
    expect(r.headers).toEqual([
      { line: 2, name: "Cache-Control", value: "max-age=0" },
      { line: 3, name: "Cache-Control", value: "no-store" },
      { line: 4, name: "Link", value: "<https://example.com/a.css>; rel=preload" },
    ]);
  });

  it("reads Cloudflare's ! Name to remove a header, and placeholders in paths", () => {
    const [a, b] = rules("/*\n  X-Robots-Tag: noindex\n/blog/:slug\n  ! X-Robots-Tag\n  !Cache-Control\n");
    expect(a.headers).toHaveLength(1);
    expect(b.path.tokens).toEqual([
      { kind: "literal", text: "/blog/" },
      { kind: "placeholder", name: "slug" },
    ]);
    expect(b.headers).toEqual([
      { line: 4, name: "X-Robots-Tag", remove: true },
      { line: 5, name: "Cache-Control", remove: true },
    ]);
  });

  it("keeps hostile characters of values as text for the compiler to quote", () => {
    const [r] = rules("/*\n  X-Test: a\"b\\c$d;e{f}g'h\n");
    expect(r.headers[0]).toEqual({ line: 2, name: "X-Test", value: "a\"b\\c$d;e{f}g'h" });
  });
});

describe("parseHeaders: refusals, each with its line", () => {
  const cases: [string, string][] = [
    ["/*\n  Set-Cookie: a=b", "line 2: Set-Cookie cannot be set: sites may not set cookies from _headers"],
    ["/*\n  set-cookie: a=b", "line 2: set-cookie cannot be set: sites may not set cookies from _headers"],
    ["/*\n  Connection: close", "line 2: Connection cannot be set: it is a hop-by-hop header"],
    ["/*\n  Transfer-Encoding: chunked", "line 2: Transfer-Encoding cannot be set: it is a hop-by-hop header"],
    ["/*\n  Content-Length: 5", "line 2: Content-Length cannot be set: nginx sets it from the file"],
    ["/*\n  X-Frame-Options: ALLOWALL", "line 2: X-Frame-Options cannot be set: the platform sets it and it may not be weakened"],
    ["/*\n  Referrer-Policy: unsafe-url", "line 2: Referrer-Policy cannot be set: the platform sets it and it may not be weakened"],
    ["/*\n  ! X-Content-Type-Options", "line 2: X-Content-Type-Options cannot be removed: the platform sets it and it may not be weakened"],
    [
      "/*\n  ! Content-Security-Policy",
      "line 2: Content-Security-Policy cannot be removed: the platform's frame-ancestors policy may not be removed (a site may add its own policy)",
    ],
    ["/*\n  X-Accel-Redirect: /secret", "line 2: X-Accel-Redirect cannot be set: it is an nginx control header"],
    ["/*\n  X Bad: 1", 'line 2: "X Bad" is not a header name (letters, digits and -)'],
    ["/*\n  X_Bad: 1", 'line 2: "X_Bad" is not a header name (letters, digits and -)'],
    ["/*\n  X-Empty:", "line 2: X-Empty has no value; to remove a header write ! X-Empty"],
    ["/*\n  just text", 'line 2: "just text" is not a header line; write Name: value'],
    ["  X-A: 1", "line 1: a header line must follow a path line"],
    ["X-A: 1", "line 1: X-A: is a header line; indent it under a path"],
    ["/a\n/b\n  X-A: 1", "line 1: /a has no headers under it"],
    [
      "https://example.com/*\n  X-A: 1",
      "line 1: the path https://example.com/* names a host; rules apply to this site's paths only, so give a path starting with /",
    ],
    ["/*\n  X-A: caf\u00e9", 'line 2: "é" is not ASCII; header values and paths must be ASCII (percent-encode paths)'],
    ["/*\n  X-A: a\u0000b", "line 2: the line contains the control character NUL"],
    ["/*\n  X-A: a\u001bb", "line 2: the line contains the control character U+001B"],
    ["/*\n  X-A: a\rX-B: b", "line 2: the line contains the control character U+000D"],
    ["/a/*/b*\n  X-A: 1", "line 1: the path /a/*/b* has 2 splats (*); at most 1 is allowed"],
  ];
  it.each(cases)("%j", (text, message) => {
    expect(errors(text)).toEqual([message]);
  });

  it("refuses every name of the list, in any case", () => {
    for (const name of REFUSED_HEADERS.keys()) {
      expect(errors(`/*\n  ${name.toUpperCase()}: x`)[0]).toMatch(/^line 2: .* cannot be set: /);
    }
  });

  it("refuses past the limits", () => {
    const long = "/*\n  X-A: " + "a".repeat(MAX_HEADERS_LINE_LENGTH);
    expect(errors(long)).toEqual([`line 2: the line is ${MAX_HEADERS_LINE_LENGTH + 7} characters long; at most ${MAX_HEADERS_LINE_LENGTH} are allowed`]);
    const many = Array.from({ length: MAX_HEADER_RULES + 1 }, (_, i) => `/p${i}\n  X-A: 1`).join("\n");
    expect(errors(many)).toEqual([`line ${2 * MAX_HEADER_RULES + 1}: more than ${MAX_HEADER_RULES} path patterns; at most ${MAX_HEADER_RULES} are allowed`]);
    const headers = "/*\n" + Array.from({ length: MAX_HEADERS_PER_RULE + 1 }, (_, i) => `  X-H${i}: 1`).join("\n");
    expect(errors(headers)).toEqual([`line ${MAX_HEADERS_PER_RULE + 2}: more than ${MAX_HEADERS_PER_RULE} headers under /*`]);
  });
});
