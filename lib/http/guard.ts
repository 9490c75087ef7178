import type { NextRequest } from "next/server";
import { CSRF_HEADER, csrfCookieName, verifyCsrf } from "@/lib/auth/csrf";
import { hasDuplicateCookie, isAuthCookie, singleCookie } from "@/lib/http/cookies";
import { ApiError } from "@/lib/http/errors";

/** Every state-changing dashboard API call must prove it came from our own pages. */
export function requireCsrf(request: NextRequest): void {
  const cookies = request.headers.get("cookie");
  // Which of two same-named sign-in cookies the session layer would pick is
  // up to whoever planted the second: refuse rather than act for either.
  if (hasDuplicateCookie(cookies, isAuthCookie)) {
    throw new ApiError(
      403,
      "conflicting_cookies",
      "Your browser sent two sign-in cookies of the same name, one of them set by another site. Clear this site's cookies, then sign in again.",
    );
  }
  if (!verifyCsrf(singleCookie(cookies, csrfCookieName()), request.headers.get(CSRF_HEADER))) {
    throw new ApiError(403, "csrf", "This request is missing its security token. Reload the page and try again.");
  }
}
