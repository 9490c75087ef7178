/**
 * Reading the Cookie header ourselves where a browser's duplicates matter.
 * A browser sends one cookie per name, path and domain; two under one name
 * mean a second host of the same site (or a parent domain) set one next to
 * ours. That is how cookie tossing plants a session or a CSRF token, so such
 * a pair is trusted for neither.
 */

function pairs(header: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const part of header.split(";")) {
    const at = part.indexOf("=");
    if (at === -1) continue;
    out.push({ name: part.slice(0, at).trim(), value: part.slice(at + 1).trim() });
  }
  return out;
}

/**
 * The one value of cookie `name`, decoded, or undefined when it is absent,
 * sent more than once or not valid percent-encoding.
 */
export function singleCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  const values = pairs(header).filter((pair) => pair.name === name);
  if (values.length !== 1) return undefined;
  try {
    return decodeURIComponent(values[0]!.value);
  } catch {
    return undefined;
  }
}

/**
 * The Cookie header without any cookie that `matches` and occurs more than
 * once, or null when there is none to drop.
 */
export function withoutDuplicateCookies(header: string | null, matches: (name: string) => boolean): string | null {
  if (!header) return null;
  const all = pairs(header);
  const counts = new Map<string, number>();
  for (const { name } of all) counts.set(name, (counts.get(name) ?? 0) + 1);
  const dropped = (name: string) => matches(name) && counts.get(name)! > 1;
  if (!all.some(({ name }) => dropped(name))) return null;
  return all
    .filter(({ name }) => !dropped(name))
    .map(({ name, value }) => `${name}=${value}`)
    .join("; ");
}

/** next-auth's cookies (session, its chunks, CSRF, callback URL), with or without the secure prefixes. */
export const isAuthCookie = (name: string) => /^(__Secure-|__Host-)?next-auth\./.test(name);

/** Whether a cookie that `matches` occurs more than once. */
export function hasDuplicateCookie(header: string | null, matches: (name: string) => boolean): boolean {
  if (!header) return false;
  const seen = new Set<string>();
  for (const { name } of pairs(header)) {
    if (!matches(name)) continue;
    if (seen.has(name)) return true;
    seen.add(name);
  }
  return false;
}
