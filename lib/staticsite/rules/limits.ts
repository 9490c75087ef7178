// Limits of the `_redirects` and `_headers` files. They bound what a site can
// make nginx do per request (ordered regexes are tried one by one) and the
// size of the configuration the operator renders.

/** Bytes of one `_redirects` or `_headers` file. */
export const MAX_RULES_FILE_BYTES = 256 * 1024;
/** Characters of one line, spacing included (Cloudflare Pages allows 1,000 for redirects). */
export const MAX_REDIRECT_LINE_LENGTH = 1000;
/** Characters of one `_headers` line (Cloudflare Pages allows 2,000). */
export const MAX_HEADERS_LINE_LENGTH = 2000;
/** Redirect rules in one file. Exact paths are a hash lookup in nginx, so they may be many. */
export const MAX_REDIRECT_RULES = 2000;
/** Redirect rules with a splat, a placeholder or a query condition: nginx tries them in order. */
export const MAX_PATTERN_REDIRECT_RULES = 100;
/** Path patterns (blocks) in one `_headers` file. */
export const MAX_HEADER_RULES = 100;
/** Header lines under one path pattern. */
export const MAX_HEADERS_PER_RULE = 32;
/** Placeholders (`:name`, path and query together) in one pattern. */
export const MAX_PLACEHOLDERS = 8;
/** Splats (`*`) in one pattern. */
export const MAX_SPLATS = 1;
/** Query conditions of one redirect rule. */
export const MAX_QUERY_CONDITIONS = 4;
/** The prefix of a placeholder's capture name in nginx (operator/nginx-rules.ts), so that `:uri` cannot reach nginx's `$uri`. */
export const CAPTURE_NAME_PREFIX = "pr_";
/**
 * Characters of a placeholder name. A placeholder becomes a named capture
 * `pr_<name>` in nginx's regex library, whose names hold 32 characters at
 * most; a longer one was accepted here and then refused by nginx.
 */
export const MAX_PLACEHOLDER_NAME_LENGTH = 32 - CAPTURE_NAME_PREFIX.length;
