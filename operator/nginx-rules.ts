// Compiles a site's `_redirects` and `_headers` rules into nginx
// configuration. Pure and deterministic: the same rules give the same text.
//
// Nothing a person wrote reaches the configuration unescaped: patterns become
// regexes in which every character other than letters, digits and `/_~%-` is a
// `\xHH` escape; targets and header values become double-quoted strings in
// which `"` and `\` are escaped and a literal `$` is the variable
// `$pagoda_dollar` (nginx has no escape for `$`). The parser has already
// refused control characters, so no value can end a line.
//
// How a request meets the rules (docs/site-rules.md has the whole story):
// - `$pagoda_rule` is the first rule, in file order, that matches the request:
//   exact paths through one hash `map`, patterns (splats, placeholders, query
//   conditions) as ordered regexes of a second `map`. An exact path goes to the
//   hash only when no earlier pattern could match it, so the hash answering
//   first never breaks first-match-wins.
// - Map values are computed once per request and kept across internal
//   redirects, and the rules are applied only while `$uri` is still the
//   requested one (`$pagoda_rule_uri`), so a rewrite cannot loop.
// - A forced rule (`!`) applies before any file is looked up; any other rule
//   only when no file or directory exists at the path (the `try_files`
//   fallback `@pagoda_rules`), after which the site's own fallback (the SPA's
//   `/index.html` or the 404 page) follows.
import {
  decodePath,
  exactPath,
  originHasIpHost,
  patternRegExp,
  proxyTarget,
  type HeaderRule,
  type PathPattern,
  type RedirectRule,
} from "@/lib/staticsite/rules";
import { CAPTURE_NAME_PREFIX } from "@/lib/staticsite/rules/limits";

export interface SiteRules {
  redirects: readonly RedirectRule[];
  headers: readonly HeaderRule[];
}

export interface RenderRulesOptions {
  /** What the site does when no file and no rule answers: the SPA's `/index.html`, or 404. */
  spa: boolean;
  /** Never subject to rules: the probes' path. */
  reservedPaths: readonly string[];
  /** Origins 200 rules may proxy to, and the DNS resolver nginx asks for their names; absent: no proxy rule compiles. */
  proxy?: ProxySettings;
  /**
   * Prefix of every variable the rules declare (default `pagoda_`, the names
   * of a site's own nginx): sites sharing one `http { }` need one each, since
   * nginx variables are global to it.
   */
  variablePrefix?: string;
  /** Leave out the `$pagoda_dollar` geo: the caller declares it once for several sites' rules. */
  sharedDollar?: boolean;
}

export interface ProxySettings {
  origins: readonly string[];
  /** `address[:port]` of a DNS server; needed when an origin is a host name. */
  resolver?: string;
}

export interface RenderedRules {
  /** Goes inside `http { }` before any `map` (nginx fixes the map hash sizes at the first map). */
  httpSettings: string;
  /** The sizes httpSettings sets, for a caller that merges several sites' settings into one. */
  mapHash: MapHashSizes;
  /** Goes inside `http { }`, before the server. */
  httpBlock: string;
  /** Goes inside `server { }`, before its locations. */
  serverBlock: string;
  /** What `location /`'s `try_files` falls back to instead of the site's own fallback. */
  tryFilesFallback: string;
  /** The variable `add_header Cache-Control` must send instead of the platform's own. */
  cacheControlVariable: string;
}

export const RULE_404_LOCATION = "/.pagoda-rule-404";
export const RULE_PROXY_LOCATION = "/.pagoda-rule-proxy";
/** Where nginx finds the CAs it checks an https origin's certificate against (Debian and Alpine, hence the nginx image, alike). */
export const PROXY_TRUSTED_CAS = "/etc/ssl/certs/ca-certificates.crt";
export const RULES_FALLBACK_LOCATION = "@pagoda_rules";
const PLATFORM_CACHE_CONTROL = "$pagoda_cache_control";

const CAPTURE_CLASS = "[^/?\\x00-\\x20\\x7f]";
const SPLAT_CLASS = "[^?\\x00-\\x20\\x7f]";
/** A capture a target puts right after its leading `/` may not start with `/` or `\`: `//host` would leave the site. */
const NO_HOST_GUARD = "(?!/|\\x5c)";
/**
 * What a capture may hold when it goes into a proxied request's URL: `$uri`
 * is decoded, and nginx sends the URL as written, so only characters that
 * mean the same encoded or not (RFC 3986 unreserved and sub-delims, `:` and
 * `@`) are let through; a request with any other character in the captured
 * part does not match the rule.
 */
const PROXY_SAFE = [..."-._~!$&'()*+,;=:@"].map((c) => `\\x${c.charCodeAt(0).toString(16)}`).join("");
const PROXY_CAPTURE_CLASS = `[A-Za-z0-9${PROXY_SAFE}]`;
const PROXY_SPLAT_CLASS = `[A-Za-z0-9/${PROXY_SAFE}]`;

/** A regex literal: bytes other than `[A-Za-z0-9/_~%-]` become `\xHH`, which nginx's lexer passes through untouched. */
export function pcreLiteral(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && /[A-Za-z0-9/_~%-]/.test(c) ? c : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** A map key or other string nginx does not interpolate. */
function quoteLiteral(text: string): string {
  return `"${text.replace(/[\\"]/g, "\\$&")}"`;
}

/** A string nginx interpolates (map values, add_header values): `$` becomes `${pagoda_dollar}`. */
export function quoteValue(text: string): string {
  return `"${text.replace(/[\\"]/g, "\\$&").replace(/\$/g, "${pagoda_dollar}")}"`;
}

function pathRegex(pattern: PathPattern, guarded: ReadonlySet<string>, anchorEnd: string, proxied = false): string {
  const captureClass = proxied ? PROXY_CAPTURE_CLASS : CAPTURE_CLASS;
  const splatClass = proxied ? PROXY_SPLAT_CLASS : SPLAT_CLASS;
  let re = "^";
  for (const t of pattern.tokens) {
    if (t.kind === "literal") re += pcreLiteral(t.text);
    else if (t.kind === "placeholder") {
      re += `(?<${CAPTURE_NAME_PREFIX}${t.name}>${guarded.has(t.name) ? NO_HOST_GUARD : ""}${captureClass}+)`;
    } else {
      const capture = `(?<${CAPTURE_NAME_PREFIX}splat>${guarded.has("splat") ? NO_HOST_GUARD : ""}${splatClass}*)`;
      re += pattern.trailingSplat ? `(?:/${capture})?` : capture;
    }
  }
  if (!pattern.trailingSplat) re += "/?";
  return re + anchorEnd;
}

/** Names a relative target uses right after its leading `/` (`/:splat…`). */
function leadingNames(rule: RedirectRule): Set<string> {
  const m = /^\/:([A-Za-z][A-Za-z0-9_]*)/.exec(rule.to);
  const name = m?.[1];
  return new Set(name !== undefined && rule.names.includes(name) ? [name] : []);
}

function queryLookaheads(rule: RedirectRule): string {
  return rule.query
    .map((q) => {
      const value = "placeholder" in q ? `(?<${CAPTURE_NAME_PREFIX}${q.placeholder}>[^&\\x00-\\x20\\x7f]*)` : pcreLiteral(q.value);
      // `(?![^&])`: the value ends at `&` or at the end, without writing `$` in the configuration.
      return `(?=(?:.*&)?${pcreLiteral(q.name)}=${value}(?![^&]))`;
    })
    .join("");
}

function targetValue(rule: RedirectRule): string {
  const names = new Set(rule.names);
  // A rewrite or 404 rule names a file, which nginx looks up by its decoded
  // name (`rewrite` does not decode); a redirect's Location and a proxied URL stay encoded.
  const served = (rule.status === 200 && !rule.proxy) || rule.status === 404;
  const literal = (text: string) => quoteValue(served ? decodePath(text) : text).slice(1, -1);
  // A proxy's origin is the allow-list's, written whole: placeholders are substituted only after it.
  const to = rule.proxy ? rule.proxy.rest : rule.to;
  let out = rule.proxy ? literal(rule.proxy.origin) : "";
  let last = 0;
  for (const m of to.matchAll(/:([A-Za-z][A-Za-z0-9_]*)/g)) {
    const name = m[1] ?? "";
    if (!names.has(name)) continue;
    out += literal(to.slice(last, m.index)) + `\${${CAPTURE_NAME_PREFIX}${name}}`;
    last = m.index + m[0].length;
  }
  out += literal(to.slice(last));
  // Redirects and proxies keep the request's query string, as on Netlify,
  // unless the rule matched on it or the target brings its own.
  if (!served && rule.query.length === 0 && !to.includes("?")) out += "$is_args$args";
  return `"${out}"`;
}

function slashTwins(path: string): string[] {
  if (path === "/") return ["/"];
  return path.endsWith("/") ? [path, path.slice(0, -1)] : [path, path + "/"];
}

export interface MapHashSizes {
  bucketSize: number;
  maxSize: number;
}

export function mapHashSettings(sizes: MapHashSizes): string {
  return `  map_hash_bucket_size ${sizes.bucketSize};\n  map_hash_max_size ${sizes.maxSize};\n`;
}

function hashSizes(keys: readonly string[]): MapHashSizes {
  const longest = keys.reduce((n, k) => Math.max(n, Buffer.byteLength(k)), 0);
  // Room for a few keys per bucket: with one, nginx needs a collision-free
  // table and gives up on the sizes below ("could not build optimal map_hash").
  let bucket = 64;
  while (bucket < (longest + 16) * 4) bucket *= 2;
  let max = 2048;
  while (max < keys.length * 4) max *= 2;
  return { bucketSize: bucket, maxSize: max };
}

interface Compiled {
  http: string[];
  exactKeys: string[];
}

function compileRedirects(rules: readonly RedirectRule[], reserved: readonly string[], out: Compiled): string[] {
  const exact: string[] = [];
  const patterns: string[] = [];
  const actions: string[] = [];
  const targets: string[] = [];
  const seen = new Set<string>(reserved.flatMap(slashTwins));
  for (const path of reserved) for (const key of slashTwins(path)) exact.push(`    ${quoteLiteral(key)} "-";`);
  const earlierPatterns: RegExp[] = [];
  rules.forEach((rule, index) => {
    const id = String(index);
    const hashed = rule.from.exact && rule.query.length === 0;
    if (hashed) {
      const path = exactPath(rule.from);
      const twins = slashTwins(path);
      if (earlierPatterns.some((re) => twins.some((p) => re.test(p)))) {
        // An earlier pattern may match this path: keep file order by trying it among the patterns.
        patterns.push(`    ${quoteLiteral(`~${pathRegex(rule.from, new Set(), "\\x3f")}`)} ${quoteLiteral(id)};`);
      } else {
        const fresh = twins.filter((k) => !seen.has(k));
        if (fresh.length === 0) return; // an earlier rule has this path: first match wins
        for (const k of fresh) {
          seen.add(k);
          exact.push(`    ${quoteLiteral(k)} ${quoteLiteral(id)};`);
        }
      }
    } else {
      const re = pathRegex(rule.from, leadingNames(rule), "\\x3f", rule.proxy !== undefined) + queryLookaheads(rule);
      patterns.push(`    ${quoteLiteral(`~${re}`)} ${quoteLiteral(id)};`);
      earlierPatterns.push(patternRegExp(rule.from));
    }
    actions.push(`    ${quoteLiteral(id)} "${rule.proxy ? "proxy" : rule.status}${rule.force ? "!" : ""}";`);
    targets.push(`    ${quoteLiteral(id)} ${targetValue(rule)};`);
  });
  out.exactKeys.push(...exact.map((l) => l.trim()));
  return [
    "  # The first rule of _redirects matching the request: exact paths by hash, then patterns in file order.",
    `  map $uri $pagoda_rule_exact {\n    default "";\n${exact.join("\n")}\n  }`,
    `  map "$uri?$args" $pagoda_rule_pattern {\n    default "";\n${patterns.join("\n")}${patterns.length ? "\n" : ""}  }`,
    `  map $pagoda_rule_exact $pagoda_rule {\n    "" $pagoda_rule_pattern;\n    "-" "";\n    default $pagoda_rule_exact;\n  }`,
    `  map $pagoda_rule $pagoda_rule_action {\n    default "";\n${actions.join("\n")}${actions.length ? "\n" : ""}  }`,
    `  map $pagoda_rule $pagoda_rule_target {\n    default "";\n${targets.join("\n")}${targets.length ? "\n" : ""}  }`,
  ];
}

function headerMatchKeys(pattern: PathPattern): string[] {
  if (pattern.exact) return slashTwins(exactPath(pattern)).map(quoteLiteral);
  return [quoteLiteral(`~${pathRegex(pattern, new Set(), "$")}`)];
}

function compileHeaders(rules: readonly HeaderRule[]): { http: string[]; server: string[] } {
  const http: string[] = [];
  const server: string[] = [];
  const cacheControl: string[] = [];
  rules.forEach((rule, j) => {
    const keys = headerMatchKeys(rule.path);
    http.push(`  map $pagoda_rule_uri $pagoda_hm_${j} {\n    default "";\n${keys.map((k) => `    ${k} "1";`).join("\n")}\n  }`);
    const cc = rule.headers.filter((h) => h.name === "Cache-Control");
    if (cc.length > 0) {
      const value = cc.some((h) => "remove" in h) ? "" : cc.map((h) => ("value" in h ? h.value : "")).join(", ");
      cacheControl.push(`    ${quoteLiteral(`~${pathRegex(rule.path, new Set(), "$")}`)} ${quoteValue(value)};`);
    }
  });
  rules.forEach((rule, j) => {
    rule.headers.forEach((h, k) => {
      if (!("value" in h) || h.name === "Cache-Control") return;
      const removers = rules.flatMap((r, d) => (r.headers.some((x) => "remove" in x && x.name === h.name) ? [d] : []));
      const source = [j, ...removers].map((d) => `$pagoda_hm_${d}`).join(":");
      const match = ["1", ...removers.map(() => "")].join(":");
      http.push(`  map "${source}" $pagoda_hv_${j}_${k} {\n    default "";\n    ${quoteLiteral(match)} ${quoteValue(h.value)};\n  }`);
      server.push(`    add_header ${h.name} $pagoda_hv_${j}_${k} always;`);
    });
  });
  http.push(
    `  # Cache-Control of the first _headers rule that sets or removes it; otherwise the platform's.\n` +
      `  map $pagoda_rule_uri $pagoda_rules_cache_control {\n    default ${PLATFORM_CACHE_CONTROL};\n${cacheControl.join("\n")}${cacheControl.length ? "\n" : ""}  }`,
  );
  return { http, server };
}

export const DEFAULT_VARIABLE_PREFIX = "pagoda_";
const VARIABLE_PREFIX_RE = /^[a-z][a-z0-9_]*_$/;
/** The platform's `$` for interpolated strings; declared once per `http { }`. */
export const DOLLAR_GEO = '  geo $pagoda_dollar {\n    default "$";\n  }\n';
/**
 * Every variable the rules declare. The text is written with the default
 * names and renamed afterwards: no `$` of a person's text reaches the
 * configuration as `$` (quoteValue and pcreLiteral escape it), so each match
 * is one of ours.
 */
const DECLARED_VARIABLE_RE = /\$(\{?)pagoda_(rule|hm_|hv_)/g;

function renameVariables(text: string, prefix: string): string {
  return prefix === DEFAULT_VARIABLE_PREFIX ? text : text.replace(DECLARED_VARIABLE_RE, (_, brace: string, rest: string) => `$${brace}${prefix}${rest}`);
}

const REDIRECT_CODES = [301, 302, 303, 307, 308];

/**
 * Checks every proxy rule against the operator's own allow-list again, from
 * the target's text: rules objects reach here from a StaticSite anyone with
 * write access to it may have written.
 */
function checkProxies(rules: readonly RedirectRule[], proxy: ProxySettings | undefined): { https: boolean; any: boolean } {
  const used = { https: false, any: false };
  for (const r of rules) {
    if (!(r.status === 200 && /^https?:\/\//i.test(r.to))) continue;
    let target;
    try {
      target = proxyTarget(r.to, proxy?.origins ?? []);
    } catch (e) {
      throw new Error(`_redirects line ${r.line}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (r.proxy?.origin !== target.origin || r.proxy.rest !== target.rest) {
      throw new Error(`_redirects line ${r.line}: the proxy target ${r.to} was not parsed by this operator`);
    }
    if (!originHasIpHost(target.origin) && !proxy?.resolver) {
      throw new Error(`_redirects line ${r.line}: proxying to ${target.origin} needs a DNS resolver (PAGODA_PROXY_RESOLVER)`);
    }
    used.any = true;
    if (target.origin.startsWith("https:")) used.https = true;
  }
  return used;
}

/** The internal location proxy rules rewrite to; the URL is the rule's target, built by the maps. */
function proxyLocation(https: boolean, resolver: string | undefined): string {
  return [
    `    location = ${RULE_PROXY_LOCATION} {`,
    "      internal;",
    ...(resolver ? [`      resolver ${resolver} valid=30s ipv6=off;`, "      resolver_timeout 5s;"] : []),
    "      proxy_pass $pagoda_rule_target;",
    "      proxy_http_version 1.1;",
    "      proxy_set_header Host $proxy_host;",
    '      proxy_set_header Connection "";',
    // Cookies on a site's host may come from any site under the same parent
    // domain, so they are not the site's to pass on; and a cookie an origin
    // sets would land on the platform's domain, as _headers' Set-Cookie would.
    '      proxy_set_header Cookie "";',
    "      proxy_hide_header Set-Cookie;",
    // The platform's own headers are added to every answer; the origin's copies would make them ambiguous.
    "      proxy_hide_header X-Content-Type-Options;",
    "      proxy_hide_header Referrer-Policy;",
    "      proxy_hide_header X-Frame-Options;",
    "      proxy_redirect off;",
    "      proxy_intercept_errors off;",
    "      proxy_connect_timeout 5s;",
    "      proxy_send_timeout 30s;",
    "      proxy_read_timeout 30s;",
    // Streamed both ways, never spooled to the pod's small /tmp.
    "      proxy_request_buffering off;",
    "      proxy_max_temp_file_size 0;",
    ...(https
      ? [
          "      proxy_ssl_server_name on;",
          "      proxy_ssl_verify on;",
          "      proxy_ssl_verify_depth 4;",
          `      proxy_ssl_trusted_certificate ${PROXY_TRUSTED_CAS};`,
        ]
      : []),
    "    }",
  ].join("\n");
}

export function renderRules(rules: SiteRules, opts: RenderRulesOptions): RenderedRules {
  const prefix = opts.variablePrefix ?? DEFAULT_VARIABLE_PREFIX;
  if (!VARIABLE_PREFIX_RE.test(prefix)) throw new Error(`variable prefix ${JSON.stringify(prefix)} is not lower-case letters, digits and _ ending in _`);
  const proxies = checkProxies(rules.redirects, opts.proxy);
  const compiled: Compiled = { http: [], exactKeys: [] };
  const redirectMaps = compileRedirects(rules.redirects, opts.reservedPaths, compiled);
  const headers = compileHeaders(rules.headers);
  const httpBlock =
    "  # _redirects and _headers of the site (operator/nginx-rules.ts).\n" +
    (opts.sharedDollar ? "" : DOLLAR_GEO) +
    "  map $uri $pagoda_rule_uri {\n    default $uri;\n  }\n" +
    [...redirectMaps, ...headers.http].join("\n") +
    "\n" +
    (proxies.any
      ? "  # A proxied answer keeps the origin's Cache-Control (or none): $uri is the proxy location's when headers are sent.\n" +
        `  map $uri $pagoda_rules_cache_control_sent {\n    ${quoteLiteral(RULE_PROXY_LOCATION)} "";\n    default $pagoda_rules_cache_control;\n  }\n`
      : "");

  const forced = REDIRECT_CODES.map((c) => `    if ($pagoda_rule_do = "${c}!") {\n      return ${c} $pagoda_rule_target;\n    }`);
  const unforced = REDIRECT_CODES.map((c) => `      if ($pagoda_rule_do = "${c}") {\n        return ${c} $pagoda_rule_target;\n      }`);
  const serverBlock = [
    "    # Rules apply while $uri is the requested path, never again after a rewrite or an internal redirect.",
    '    set $pagoda_rule_do "";',
    "    if ($uri = $pagoda_rule_uri) {\n      set $pagoda_rule_do $pagoda_rule_action;\n    }",
    ...forced,
    '    if ($pagoda_rule_do = "200!") {\n      rewrite ^ $pagoda_rule_target last;\n    }',
    ...(proxies.any ? [`    if ($pagoda_rule_do = "proxy!") {\n      rewrite ^ ${RULE_PROXY_LOCATION} last;\n    }`] : []),
    `    if ($pagoda_rule_do = "404!") {\n      rewrite ^ ${RULE_404_LOCATION} last;\n    }`,
    ...headers.server,
    `    location = ${RULE_404_LOCATION} {\n      internal;\n      error_page 404 $pagoda_rule_target;\n      return 404;\n    }`,
    // An API behind a proxy rule takes request bodies; the site's own files need none.
    ...(proxies.any ? ["    client_max_body_size 1m;", proxyLocation(proxies.https, opts.proxy?.resolver)] : []),
    `    location ${RULES_FALLBACK_LOCATION} {`,
    ...unforced,
    '      if ($pagoda_rule_do = "200") {\n        set $pagoda_rule_do "";\n        rewrite ^ $pagoda_rule_target last;\n      }',
    `      if ($pagoda_rule_do = "404") {\n        set $pagoda_rule_do "";\n        rewrite ^ ${RULE_404_LOCATION} last;\n      }`,
    ...(proxies.any
      ? [`      if ($pagoda_rule_do = "proxy") {\n        set $pagoda_rule_do "";\n        rewrite ^ ${RULE_PROXY_LOCATION} last;\n      }`]
      : []),
    opts.spa ? "      try_files /index.html =404;" : "      return 404;",
    "    }",
  ].join("\n");
  const mapHash = hashSizes(compiled.exactKeys);
  return {
    httpSettings: mapHashSettings(mapHash),
    mapHash,
    httpBlock: renameVariables(httpBlock, prefix),
    serverBlock: renameVariables(serverBlock + "\n", prefix),
    tryFilesFallback: RULES_FALLBACK_LOCATION,
    cacheControlVariable: renameVariables(proxies.any ? "$pagoda_rules_cache_control_sent" : "$pagoda_rules_cache_control", prefix),
  };
}
