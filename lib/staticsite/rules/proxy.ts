// Proxy rules (`/api/* https://api.example.com/:splat 200`): the operator's
// allow-list of origins and the split of a target into an allowed origin and
// the path that follows it. Shared by the dashboard's and the operator's
// configuration and by the parser, so all three agree on what an origin is.
import { PatternError } from "./pattern";

/** A DNS name or an IPv4 address, lower case; no userinfo, no IPv6 literal. */
const HOST_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const ORIGIN_RE = /^(https?):\/\/([^/?#]*)$/i;
const AUTHORITY_RE = /^([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?$/;

/** `scheme://host[:port]` in the form URL.origin gives: lower case, no default port. */
function normalOrigin(scheme: string, authority: string): string | undefined {
  const m = AUTHORITY_RE.exec(authority);
  if (!m) return undefined;
  const host = (m[1] ?? "").toLowerCase();
  if (!HOST_RE.test(host)) return undefined;
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65_535)) return undefined;
  let url: URL;
  try {
    url = new URL(`${scheme.toLowerCase()}://${host}${m[2] === undefined ? "" : `:${m[2]}`}`);
  } catch {
    return undefined;
  }
  // A host URL would rewrite (an IPv4 address in another notation, say) is refused rather than guessed at.
  return url.hostname === host ? url.origin : undefined;
}

/**
 * Parses the comma-separated allow-list (`https://api.example.com,http://10.0.0.5:8080`).
 * Throws an Error naming the bad entry; empty text is an empty list.
 */
export function parseProxyOrigins(text: string): string[] {
  const origins: string[] = [];
  for (const entry of text.split(",").map((e) => e.trim())) {
    if (entry === "") continue;
    const m = ORIGIN_RE.exec(entry);
    const origin = m ? normalOrigin(m[1] ?? "", m[2] ?? "") : undefined;
    if (!origin) {
      throw new Error(
        `${JSON.stringify(entry)} is not an origin; give http:// or https://, a host name or IPv4 address and an optional port, with no path, user or trailing slash (e.g. https://api.example.com)`,
      );
    }
    if (!origins.includes(origin)) origins.push(origin);
  }
  return origins;
}

/** True when the origin's host is an IP address, which nginx can reach without a resolver. */
export function originHasIpHost(origin: string): boolean {
  // Hosts are checked by normalOrigin, where URL leaves only canonical dotted quads unchanged.
  return /^[0-9]+(\.[0-9]+){3}$/.test(new URL(origin).hostname);
}

export interface ProxyTarget {
  /** The allowed origin, as in the allow-list. */
  origin: string;
  /** What follows the origin in the target as written: empty, or starting with `/` or `?`. */
  rest: string;
}

/**
 * Splits a proxy rule's target into an origin that must be on the allow-list
 * exactly (scheme, host and port) and the rest. Read from the text, not from
 * URL parsing alone: userinfo (`https://api.example.com@evil.tld`), a host
 * that only starts like an allowed one and a placeholder in the host or port
 * are all refused.
 */
export function proxyTarget(to: string, allowed: readonly string[]): ProxyTarget {
  if (allowed.length === 0) {
    throw new PatternError(`proxying to another origin (200 to ${to}) is not enabled on this platform; use a redirect status`);
  }
  const m = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(to);
  if (!m) throw new PatternError(`the proxy target ${to} must start with http:// or https://`);
  const authority = m[2] ?? "";
  const rest = m[3] ?? "";
  if (authority.includes("@")) throw new PatternError(`the proxy target ${to} carries a user name (@); give the origin alone`);
  const origin = normalOrigin(m[1] ?? "", authority);
  if (!origin) throw new PatternError(`the proxy target ${to} does not start with a host name and an optional port`);
  if (rest.includes("#")) throw new PatternError(`the proxy target ${to} has a fragment (#), which is never sent to a server`);
  if (!allowed.includes(origin)) throw new PatternError(`proxying to ${origin} is not allowed; allowed origins: ${allowed.join(", ")}`);
  return { origin, rest };
}
