import "server-only";
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

/** next-auth's tokens are hex; a hash is sha256 hex. Anything else is not ours. */
const HEX = /^[0-9a-f]{1,128}$/;

function equal(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `cookieValue` is the decoded cookie (singleCookie in lib/http/cookies.ts); false for anything malformed, never a throw. */
export function verifyCsrf(cookieValue: string | undefined, submitted: string | null): boolean {
  if (!cookieValue || !submitted) return false;
  const parts = cookieValue.split("|");
  if (parts.length !== 2) return false;
  const [token, hash] = parts as [string, string];
  if (!HEX.test(token) || !HEX.test(hash)) return false;
  const expected = createHash("sha256").update(`${token}${getConfig().NEXTAUTH_SECRET}`).digest("hex");
  return equal(hash, expected) && equal(token, submitted);
}
