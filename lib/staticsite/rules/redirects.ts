// `_redirects`, in the syntax Netlify and Cloudflare Pages document:
//   from [name=value …] to [status][!]
// one rule per line, `#` comments, blank lines. Pure: the dashboard checks a
// deploy with it and the operator compiles what it returns.
import { MAX_PATTERN_REDIRECT_RULES, MAX_PLACEHOLDERS, MAX_QUERY_CONDITIONS, MAX_REDIRECT_LINE_LENGTH, MAX_REDIRECT_RULES } from "./limits";
import { decodePath, PatternError, PLACEHOLDER_NAME_RE, placeholderNames, parsePathPattern, type PathPattern } from "./pattern";
import { proxyTarget } from "./proxy";
import { lineError, nonAscii, splitLines, type RuleError } from "./text";

export const REDIRECT_STATUSES = [301, 302, 303, 307, 308] as const;
export const RULE_STATUSES = [200, 301, 302, 303, 307, 308, 404] as const;
export type RuleStatus = (typeof RULE_STATUSES)[number];
export const DEFAULT_STATUS: RuleStatus = 301;

export type QueryCondition = { name: string } & ({ placeholder: string } | { value: string });

export interface RedirectRule {
  line: number;
  from: PathPattern;
  /** Query parameters the request must carry, in file order. */
  query: QueryCondition[];
  /** The target as written: a path, or an http(s) URL for redirects (and allowed proxies). */
  to: string;
  status: RuleStatus;
  force: boolean;
  /** Placeholders the target may use: those of the path, `splat`, and those of the query. */
  names: string[];
  /** A 200 rule to another origin: the allowed origin it proxies to, and what follows it in the target. */
  proxy?: { origin: string; rest: string };
}

export interface RedirectsOptions {
  /**
   * Origins (`https://api.example.com`) a 200 rule may proxy to. Empty or
   * absent: proxying is refused.
   */
  proxyOrigins?: readonly string[];
}

export type ParseResult<T> = { ok: true; rules: T[] } | { ok: false; errors: RuleError[] };

const QUERY_NAME_RE = /^[A-Za-z0-9\-._~]+$/;
const QUERY_VALUE_RE = /^[A-Za-z0-9\-._~%!'()*+,;:@/]*$/;
/** What a target may hold unencoded: RFC 3986 URI characters except those that have no business in a Location. */
const TARGET_CHARS_RE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?#%[\]]*$/;

function isRuleStatus(n: number): n is RuleStatus {
  return (RULE_STATUSES as readonly number[]).includes(n);
}

function parseQuery(part: string, names: Set<string>): QueryCondition {
  const eq = part.indexOf("=");
  if (eq === -1) throw new PatternError(`query condition ${part} needs a value: ${part}=:name or ${part}=text`);
  const name = part.slice(0, eq);
  const value = part.slice(eq + 1);
  if (!QUERY_NAME_RE.test(name)) throw new PatternError(`query parameter name ${JSON.stringify(name)} must be letters, digits or -._~`);
  if (value.startsWith(":")) {
    const placeholder = value.slice(1);
    if (!PLACEHOLDER_NAME_RE.test(placeholder) || placeholder === "splat") {
      throw new PatternError(`query placeholder ${value} must be a letter followed by letters, digits or _`);
    }
    if (names.has(placeholder)) throw new PatternError(`placeholder :${placeholder} appears twice`);
    names.add(placeholder);
    return { name, placeholder };
  }
  if (!QUERY_VALUE_RE.test(value)) throw new PatternError(`query value ${JSON.stringify(value)} must be percent-encoded`);
  return { name, value };
}

function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.origin;
  } catch {
    return undefined;
  }
}

function parseLine(text: string, line: number, options: RedirectsOptions): RedirectRule {
  const parts = text.trim().split(/[ \t]+/);
  const hash = parts.findIndex((p) => p.startsWith("#"));
  if (hash !== -1) parts.length = hash;
  const [fromText = "", ...rest] = parts;
  if (rest.length === 0) throw new PatternError(`${fromText} has no target`);

  const from = parsePathPattern(fromText, "the path");
  const names = new Set(placeholderNames(from));
  const toIndex = rest.findIndex((p) => p.startsWith("/") || /^https?:\/\//i.test(p));
  if (toIndex === -1) {
    const wrong = rest.find((p) => !p.includes("=")) ?? rest[0] ?? "";
    throw new PatternError(`the target ${wrong} must be a path starting with / or an http(s) URL`);
  }
  const queryParts = rest.slice(0, toIndex);
  if (queryParts.length > MAX_QUERY_CONDITIONS) {
    throw new PatternError(`${queryParts.length} query conditions; at most ${MAX_QUERY_CONDITIONS} are allowed`);
  }
  const query = queryParts.map((q) => parseQuery(q, names));
  if (names.size > MAX_PLACEHOLDERS + 1) {
    throw new PatternError(`the rule has ${names.size} placeholders; at most ${MAX_PLACEHOLDERS} are allowed`);
  }
  const to = rest[toIndex] ?? "";
  const [statusText, extra] = rest.slice(toIndex + 1);
  if (!TARGET_CHARS_RE.test(to)) {
    const bad = [...to].find((c) => !TARGET_CHARS_RE.test(c)) ?? "";
    throw new PatternError(`the target ${to} contains ${JSON.stringify(bad)}, which must be percent-encoded`);
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(to)) throw new PatternError(`the target ${to} has a "%" that is not a percent escape`);

  let status: RuleStatus = DEFAULT_STATUS;
  let force = false;
  if (statusText !== undefined) {
    const m = /^(\d+)(!?)$/.exec(statusText);
    if (!m) {
      if (/^[A-Za-z]+=/.test(statusText)) {
        throw new PatternError(`condition ${statusText} is not supported (country, language, role and cookie conditions are not)`);
      }
      throw new PatternError(`${statusText} is not a status; give one of ${RULE_STATUSES.join(", ")}, optionally followed by !`);
    }
    const n = Number(m[1]);
    if (!isRuleStatus(n)) throw new PatternError(`status ${m[1]} is not a redirect status; give one of ${RULE_STATUSES.join(", ")}`);
    status = n;
    force = m[2] === "!";
    if (extra !== undefined) {
      if (/^[A-Za-z]+=/.test(extra)) {
        throw new PatternError(`condition ${extra} is not supported (country, language, role and cookie conditions are not)`);
      }
      throw new PatternError(`unexpected ${extra} after the status`);
    }
  }

  const absolute = /^https?:\/\//i.test(to);
  if (absolute) {
    const origin = originOf(to);
    if (!origin || origin === "null") throw new PatternError(`the target ${to} is not a valid URL`);
    if (status === 404) throw new PatternError(`a 404 rule serves a page of this site; its target must be a path, not ${to}`);
    if (status === 200) {
      const proxy = proxyTarget(to, options.proxyOrigins ?? []);
      return { line, from, query, to, status, force, names: [...names], proxy };
    }
  } else {
    if (to.startsWith("//")) throw new PatternError(`the target ${to} starts with //, which browsers read as another host`);
    if ((status === 200 || status === 404) && /[?#]/.test(to)) {
      throw new PatternError(`a ${status} rule serves a file of this site; its target ${to} cannot carry a query or fragment`);
    }
    // nginx looks the file up by the decoded name, so the target must decode cleanly too.
    if (status === 200 || status === 404) decodePath(to);
  }
  if (!absolute && from.exact && query.length === 0 && (status === 200 || REDIRECT_STATUSES.includes(status as never))) {
    const norm = (p: string) => (p.length > 1 ? p.replace(/\/$/, "") : p);
    if (norm(to) === norm(fromText)) throw new PatternError(`the rule sends ${fromText} to itself`);
  }
  return { line, from, query, to, status, force, names: [...names] };
}

export function parseRedirects(text: string, options: RedirectsOptions = {}): ParseResult<RedirectRule> {
  const errors: RuleError[] = [];
  const lines = splitLines(text, "_redirects", MAX_REDIRECT_LINE_LENGTH, errors);
  if (!lines) return { ok: false, errors };
  const rules: RedirectRule[] = [];
  let patterned = 0;
  for (const { number, text: lineText, error } of lines) {
    if (error) {
      errors.push(error);
      continue;
    }
    const trimmed = lineText.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const bad = nonAscii(trimmed.split(/[ \t]#/)[0] ?? "");
    if (bad !== undefined) {
      errors.push(lineError(number, `${JSON.stringify(bad)} is not ASCII; percent-encode it (paths are matched as URLs)`));
      continue;
    }
    try {
      const rule = parseLine(trimmed, number, options);
      if (!rule.from.exact || rule.query.length > 0) {
        patterned++;
        if (patterned === MAX_PATTERN_REDIRECT_RULES + 1) {
          errors.push(
            lineError(number, `more than ${MAX_PATTERN_REDIRECT_RULES} rules with a splat, placeholder or query condition; list exact paths instead`),
          );
        }
      }
      rules.push(rule);
      if (rules.length === MAX_REDIRECT_RULES + 1) {
        errors.push(lineError(number, `more than ${MAX_REDIRECT_RULES} rules; at most ${MAX_REDIRECT_RULES} are allowed`));
      }
    } catch (e) {
      if (!(e instanceof PatternError)) throw e;
      errors.push(lineError(number, e.message));
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}
