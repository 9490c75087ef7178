// The `_redirects` and `_headers` rules of a site: parsers (pure, so the
// dashboard, the CLI and the operator can all use them) and their types.
export * from "./limits";
export { parseRedirects, DEFAULT_STATUS, REDIRECT_STATUSES, RULE_STATUSES } from "./redirects";
export type { RedirectRule, RedirectsOptions, QueryCondition, RuleStatus, ParseResult } from "./redirects";
export { parseHeaders, REFUSED_HEADERS, UNREMOVABLE_HEADERS } from "./headers";
export type { HeaderRule, HeaderAction } from "./headers";
export { originHasIpHost, parseProxyOrigins, proxyTarget } from "./proxy";
export type { ProxyTarget } from "./proxy";
export { decodePath, exactPath, patternRegExp, placeholderNames } from "./pattern";
export type { PathPattern, PatternToken } from "./pattern";
export type { RuleError } from "./text";
