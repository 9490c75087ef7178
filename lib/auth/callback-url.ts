/**
 * Where to send a person after sign-in. Only a URL on the dashboard's own
 * origin is kept: anything else would make the sign-in page a phishing
 * tool that bounces a freshly signed-in person to a look-alike site.
 *
 * The check parses with the WHATWG URL parser, the one browsers use, so a
 * value means here exactly what it will mean in the address bar: `/\host`
 * and `/<tab>/host` are both `//host` to a browser, and so to this code.
 */
export function sameOriginUrl(value: string | null | undefined, base: string): URL | null {
  if (!value) return null;
  const origin = new URL(base).origin;
  let url: URL;
  try {
    url = new URL(value, origin);
  } catch {
    return null;
  }
  return url.origin === origin ? url : null;
}

/**
 * The same rule, as a path for client-side navigation. A path that starts
 * with two slashes (`/.//host` normalises to `//host`) would be read as
 * another host once handed to the router, so it falls back to the home page.
 */
export function safeCallbackPath(value: string | null | undefined, base: string): string {
  const url = sameOriginUrl(value, base);
  if (!url) return "/";
  const path = `${url.pathname}${url.search}${url.hash}`;
  return /^[/\\]{2}/.test(path) ? "/" : path;
}

/** next-auth's `redirect` callback: same-origin URLs stay, everything else goes to the base. */
export function redirectWithinBase(url: string, baseUrl: string): string {
  const safe = sameOriginUrl(url, baseUrl);
  if (!safe || /^[/\\]{2}/.test(safe.pathname)) return baseUrl;
  return safe.href;
}
