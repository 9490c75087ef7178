import type { NextRequest } from "next/server";
import { CSRF_HEADER, csrfCookieName, singleCookie, verifyCsrf } from "@/lib/auth/csrf";
import { ApiError } from "@/lib/http/errors";

/** Every state-changing dashboard API call must prove it came from our own pages. */
export function requireCsrf(request: NextRequest): void {
  const ok = verifyCsrf(singleCookie(request.headers.get("cookie"), csrfCookieName()), request.headers.get(CSRF_HEADER));
  if (!ok) {
    throw new ApiError(403, "csrf", "This request is missing its security token. Reload the page and try again.");
  }
}
