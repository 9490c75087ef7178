import { describe, expect, it } from "vitest";
import { redirectWithinBase, safeCallbackPath } from "@/lib/auth/callback-url";

const BASE = "http://localhost:3100";

// Each as it arrives after the query string is decoded once.
const HOSTILE = [
  "//evil.example/x",
  "/\\evil.example/x",
  "\\\\evil.example/x",
  "/\t/evil.example/x",
  "/\n/evil.example/x",
  "/\r\n/evil.example/x",
  "\t//evil.example/x",
  " //evil.example/x",
  "/.//evil.example/x",
  "/%2e//evil.example/x",
  "https://evil.example/x",
  "https:/evil.example/x",
  "javascript:alert(1)",
  "JavaScript:alert(1)",
  "java\tscript:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "http://localhost:3100@evil.example/x",
  "http://localhost:3101/x",
  "https://localhost:3100/x",
];

describe("safeCallbackPath", () => {
  it.each(HOSTILE)("sends %j to the home page", (value) => {
    expect(safeCallbackPath(value, BASE)).toBe("/");
  });

  it("keeps same-origin paths, query and fragment", () => {
    expect(safeCallbackPath("/w/acme/sites/blog?tab=deploys#latest", BASE)).toBe("/w/acme/sites/blog?tab=deploys#latest");
    expect(safeCallbackPath(`${BASE}/w/acme`, BASE)).toBe("/w/acme");
    expect(safeCallbackPath("w/acme", BASE)).toBe("/w/acme");
  });

  it("keeps an encoded slash as a literal part of one path segment", () => {
    // The router sees /%2F%2Fevil.example/x: a path on our own origin.
    expect(safeCallbackPath("/%2F%2Fevil.example/x", BASE)).toBe("/%2F%2Fevil.example/x");
    expect(safeCallbackPath("%2F%5Cevil.example%2Fx", BASE)).toBe("/%2F%5Cevil.example%2Fx");
  });

  it("reads odd spellings as the browser does, which keeps them on our origin", () => {
    // A tab is dropped (one slash remains); a scheme-relative "http:x" is a path on an http base.
    expect(safeCallbackPath("/\tevil.example/x", BASE)).toBe("/evil.example/x");
    expect(safeCallbackPath("http:evil.example", BASE)).toBe("/evil.example");
  });

  it("falls back to the home page when there is nothing to keep", () => {
    expect(safeCallbackPath(null, BASE)).toBe("/");
    expect(safeCallbackPath("", BASE)).toBe("/");
    expect(safeCallbackPath("http://[::1", BASE)).toBe("/");
  });
});

describe("redirectWithinBase", () => {
  it.each(HOSTILE)("turns %j into the base URL", (value) => {
    expect(redirectWithinBase(value, BASE)).toBe(BASE);
  });

  it("keeps same-origin URLs, absolute or relative", () => {
    expect(redirectWithinBase("/w/acme", BASE)).toBe(`${BASE}/w/acme`);
    expect(redirectWithinBase(`${BASE}/signin?error=x`, BASE)).toBe(`${BASE}/signin?error=x`);
  });
});
