import { createHash, timingSafeEqual } from "node:crypto";
import { getConfig } from "@/lib/config";

/**
 * Double-submit CSRF check for the dashboard's own JSON and upload APIs,
 * using the token next-auth already issues: the cookie holds
 * `<token>|sha256(<token><secret>)`, and the page sends `<token>` back in the
 * `x-csrf-token` header, which a cross-site form cannot set.
 */
export const CSRF_HEADER = "x-csrf-token";

export function csrfCookieName(): string {
  return getConfig().NEXTAUTH_URL.startsWith("https://") ? "__Host-next-auth.csrf-token" : "next-auth.csrf-token";
}

function equal(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function verifyCsrf(cookieValue: string | undefined, submitted: string | null): boolean {
  if (!cookieValue || !submitted) return false;
  const [token, hash] = decodeURIComponent(cookieValue).split("|");
  if (!token || !hash) return false;
  const expected = createHash("sha256").update(`${token}${getConfig().NEXTAUTH_SECRET}`).digest("hex");
  return equal(hash, expected) && equal(token, submitted);
}
