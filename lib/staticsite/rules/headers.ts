// `_headers`: a path pattern on a line of its own, then indented
// `Name: value` lines (a name given twice sends both values) and Cloudflare's
// `! Name` to remove a header a broader rule or the platform sets.
import { MAX_HEADER_RULES, MAX_HEADERS_LINE_LENGTH, MAX_HEADERS_PER_RULE } from "./limits";
import { PatternError, parsePathPattern, type PathPattern } from "./pattern";
import type { ParseResult } from "./redirects";
import { lineError, nonAscii, splitLines, type RuleError } from "./text";

export type HeaderAction = { line: number; name: string; value: string } | { line: number; name: string; remove: true };

export interface HeaderRule {
  line: number;
  path: PathPattern;
  headers: HeaderAction[];
}

const HEADER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/**
 * Headers a site may not set, by lower-case name, with the reason given to
 * the person: framing, hop-by-hop and body headers belong to nginx and the
 * ingress; the platform's security headers may not be weakened.
 */
export const REFUSED_HEADERS: ReadonlyMap<string, string> = new Map([
  ["set-cookie", "sites may not set cookies from _headers"],
  ["connection", "it is a hop-by-hop header"],
  ["keep-alive", "it is a hop-by-hop header"],
  ["proxy-connection", "it is a hop-by-hop header"],
  ["transfer-encoding", "it is a hop-by-hop header"],
  ["te", "it is a hop-by-hop header"],
  ["trailer", "it is a hop-by-hop header"],
  ["upgrade", "it is a hop-by-hop header"],
  ["content-length", "nginx sets it from the file"],
  ["content-encoding", "nginx sets it from the file (precompressed .gz files are served with it)"],
  ["content-range", "nginx sets it for range requests"],
  ["accept-ranges", "nginx sets it"],
  ["content-type", "it comes from the file's extension"],
  ["date", "nginx sets it"],
  ["server", "nginx sets it"],
  ["age", "caches set it"],
  ["location", "use _redirects for redirects"],
  ["alt-svc", "the ingress decides which protocols a host speaks"],
  ["x-content-type-options", "the platform sets it and it may not be weakened"],
  ["x-frame-options", "the platform sets it and it may not be weakened"],
  ["referrer-policy", "the platform sets it and it may not be weakened"],
  ["x-accel-redirect", "it is an nginx control header"],
  ["x-accel-buffering", "it is an nginx control header"],
  ["x-accel-charset", "it is an nginx control header"],
  ["x-accel-expires", "it is an nginx control header"],
  ["x-accel-limit-rate", "it is an nginx control header"],
]);

/** Platform headers a site may add to but not remove. */
export const UNREMOVABLE_HEADERS: ReadonlyMap<string, string> = new Map([
  ["content-security-policy", "the platform's frame-ancestors policy may not be removed (a site may add its own policy)"],
]);

export function parseHeaders(text: string): ParseResult<HeaderRule> {
  const errors: RuleError[] = [];
  const lines = splitLines(text, "_headers", MAX_HEADERS_LINE_LENGTH, errors);
  if (!lines) return { ok: false, errors };
  const rules: HeaderRule[] = [];
  let current: HeaderRule | undefined;
  let badBlock = false;
  let errorsAtBlock = 0;
  for (const { number, text: lineText, error } of lines) {
    if (error) {
      errors.push(error);
      continue;
    }
    const trimmed = lineText.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const bad = nonAscii(trimmed);
    if (bad !== undefined) {
      errors.push(lineError(number, `${JSON.stringify(bad)} is not ASCII; header values and paths must be ASCII (percent-encode paths)`));
      continue;
    }
    const indented = /^[ \t]/.test(lineText);
    if (!indented) {
      if (current && current.headers.length === 0 && errors.length === errorsAtBlock)
        errors.push(lineError(current.line, `${current.path.source} has no headers under it`));
      current = undefined;
      badBlock = false;
      if (trimmed.includes(":") && !trimmed.startsWith("/") && !/^https?:\/\//i.test(trimmed)) {
        errors.push(lineError(number, `${trimmed.split(":")[0]}: is a header line; indent it under a path`));
        badBlock = true;
        continue;
      }
      try {
        const path = parsePathPattern(trimmed, "the path");
        current = { line: number, path, headers: [] };
        errorsAtBlock = errors.length;
        rules.push(current);
        if (rules.length === MAX_HEADER_RULES + 1) {
          errors.push(lineError(number, `more than ${MAX_HEADER_RULES} path patterns; at most ${MAX_HEADER_RULES} are allowed`));
        }
      } catch (e) {
        if (!(e instanceof PatternError)) throw e;
        errors.push(lineError(number, e.message));
        badBlock = true;
      }
      continue;
    }
    if (!current) {
      if (!badBlock) errors.push(lineError(number, `a header line must follow a path line`));
      continue;
    }
    const action = parseHeaderLine(trimmed, number);
    if (typeof action === "string") {
      errors.push(lineError(number, action));
      continue;
    }
    current.headers.push(action);
    if (current.headers.length === MAX_HEADERS_PER_RULE + 1) {
      errors.push(lineError(number, `more than ${MAX_HEADERS_PER_RULE} headers under ${current.path.source}`));
    }
  }
  if (current && current.headers.length === 0 && errors.length === errorsAtBlock)
    errors.push(lineError(current.line, `${current.path.source} has no headers under it`));
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}

function parseHeaderLine(text: string, line: number): HeaderAction | string {
  if (text.startsWith("!")) {
    const name = text.slice(1).trim();
    if (!HEADER_NAME_RE.test(name)) return `${JSON.stringify(name)} is not a header name`;
    const lower = name.toLowerCase();
    const refused = REFUSED_HEADERS.get(lower) ?? UNREMOVABLE_HEADERS.get(lower);
    if (refused) return `${name} cannot be removed: ${refused}`;
    return { line, name: canonicalName(name), remove: true };
  }
  const colon = text.indexOf(":");
  if (colon === -1) return `${JSON.stringify(text)} is not a header line; write Name: value`;
  const name = text.slice(0, colon).trim();
  const value = text.slice(colon + 1).trim();
  if (!HEADER_NAME_RE.test(name)) return `${JSON.stringify(name)} is not a header name (letters, digits and -)`;
  if (value === "") return `${name} has no value; to remove a header write ! ${name}`;
  const refused = REFUSED_HEADERS.get(name.toLowerCase());
  if (refused) return `${name} cannot be set: ${refused}`;
  return { line, name: canonicalName(name), value };
}

/** One spelling per header, so that `cache-control` and `Cache-Control` are the same header. */
function canonicalName(name: string): string {
  return name
    .toLowerCase()
    .split("-")
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join("-");
}
