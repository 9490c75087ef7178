// Path patterns shared by `_redirects` and `_headers`: literal text, `:name`
// placeholders (one whole path segment each) and at most one `*` splat.
import { MAX_PLACEHOLDER_NAME_LENGTH, MAX_PLACEHOLDERS, MAX_SPLATS } from "./limits";

export type PatternToken = { kind: "literal"; text: string } | { kind: "placeholder"; name: string } | { kind: "splat" };

export interface PathPattern {
  /** The pattern as written. */
  source: string;
  /**
   * The tokens, literal text percent-decoded to what nginx compares with
   * (`$uri` is decoded).
   */
  tokens: PatternToken[];
  /** A trailing `/*`: the path without it matches too, with an empty splat. */
  trailingSplat: boolean;
  /** True when the pattern has neither placeholder nor splat. */
  exact: boolean;
}

export const PLACEHOLDER_NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/;
/** What a path pattern may hold before decoding: RFC 3986 path characters, `%` escapes and `*`. */
const PATH_CHARS_RE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;

export class PatternError extends Error {}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Percent-decodes (nginx compares rules with the decoded `$uri`); refuses bad escapes, control characters and bytes that are not UTF-8. */
export function decodePath(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x25) {
      bytes.push(c);
      continue;
    }
    const hex = text.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new PatternError(`"%${hex}" is not a percent escape`);
    const byte = parseInt(hex, 16);
    if (byte < 0x20 || byte === 0x7f) throw new PatternError(`%${hex.toUpperCase()} decodes to a control character`);
    if (byte === 0x3f) throw new PatternError(`%3F (an encoded "?") cannot be matched in a path`);
    bytes.push(byte);
    i += 2;
  }
  try {
    return UTF8.decode(new Uint8Array(bytes));
  } catch {
    throw new PatternError(`${text} decodes to bytes that are not UTF-8`);
  }
}

export function parsePathPattern(source: string, what: string): PathPattern {
  if (!source.startsWith("/")) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
      throw new PatternError(`${what} ${source} names a host; rules apply to this site's paths only, so give a path starting with /`);
    }
    throw new PatternError(`${what} ${source} must start with /`);
  }
  if (source.includes("?")) throw new PatternError(`${what} ${source} contains "?"; query conditions follow the path as name=value`);
  if (!PATH_CHARS_RE.test(source)) {
    const bad = [...source].find((c) => !PATH_CHARS_RE.test(c)) ?? "";
    throw new PatternError(`${what} ${source} contains ${JSON.stringify(bad)}, which must be percent-encoded`);
  }
  const tokens: PatternToken[] = [];
  const names = new Set<string>();
  let splats = 0;
  let literal = "";
  const flush = () => {
    if (literal) tokens.push({ kind: "literal", text: decodePath(literal) });
    literal = "";
  };
  const segments = source.split("/");
  segments.forEach((segment, index) => {
    if (index > 0) literal += "/";
    if (segment.startsWith(":") && segment.length > 1) {
      const name = segment.slice(1);
      if (!PLACEHOLDER_NAME_RE.test(name)) {
        throw new PatternError(`placeholder :${name} must be a letter followed by letters, digits or _`);
      }
      if (name.length > MAX_PLACEHOLDER_NAME_LENGTH) {
        throw new PatternError(`placeholder :${name} is longer than ${MAX_PLACEHOLDER_NAME_LENGTH} characters`);
      }
      if (name === "splat") throw new PatternError(`:splat is the name of what * matches; name the placeholder otherwise`);
      if (names.has(name)) throw new PatternError(`placeholder :${name} appears twice`);
      names.add(name);
      flush();
      tokens.push({ kind: "placeholder", name });
      return;
    }
    const parts = segment.split("*");
    parts.forEach((part, i) => {
      if (i > 0) {
        splats++;
        flush();
        tokens.push({ kind: "splat" });
      }
      literal += part;
    });
  });
  flush();
  if (splats > MAX_SPLATS) throw new PatternError(`${what} ${source} has ${splats} splats (*); at most ${MAX_SPLATS} is allowed`);
  if (names.size > MAX_PLACEHOLDERS) {
    throw new PatternError(`${what} ${source} has ${names.size} placeholders; at most ${MAX_PLACEHOLDERS} are allowed`);
  }
  const trailingSplat = source.endsWith("/*");
  if (trailingSplat) {
    // "/a/*" is kept as literal "/a" + optional "/" + splat; the compilers add the optional slash.
    const before = tokens[tokens.length - 2];
    if (before?.kind === "literal") {
      before.text = before.text.slice(0, -1);
      if (before.text === "") tokens.splice(tokens.length - 2, 1);
    }
  }
  return { source, tokens, trailingSplat, exact: splats === 0 && names.size === 0 };
}

export function placeholderNames(pattern: PathPattern): string[] {
  return pattern.tokens.flatMap((t) => (t.kind === "placeholder" ? [t.name] : t.kind === "splat" ? ["splat"] : []));
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/**
 * The pattern as a JavaScript RegExp over a decoded path, with
 * the same meaning as the PCRE the operator emits: used to tell, at compile
 * time, whether an earlier pattern can match an exact path.
 */
export function patternRegExp(pattern: PathPattern): RegExp {
  let re = "^";
  for (const t of pattern.tokens) {
    if (t.kind === "literal") re += escapeRegExp(t.text);
    else if (t.kind === "placeholder") re += "[^/?\\x00-\\x20\\x7f]+";
    else re += pattern.trailingSplat ? "(?:/[^?\\x00-\\x20\\x7f]*)?" : "[^?\\x00-\\x20\\x7f]*";
  }
  if (!pattern.trailingSplat) re += "/?";
  return new RegExp(re + "$");
}

/** The exact path of a pattern without placeholders or splat (decoded). */
export function exactPath(pattern: PathPattern): string {
  return pattern.tokens.map((t) => (t.kind === "literal" ? t.text : "")).join("");
}
