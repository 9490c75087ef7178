import { NextResponse, type NextRequest } from "next/server";
import { getConfig } from "@/lib/config";
import { isAuthCookie, withoutDuplicateCookies } from "@/lib/http/cookies";
import { newNonce, pageSecurityPolicy, STRICT_TRANSPORT_SECURITY } from "@/lib/http/security-headers";

/**
 * Per-request security headers: a fresh script nonce for every page, and
 * HSTS when the dashboard is served over https. The fixed headers come from
 * next.config.mjs and reach every response, these included. A sign-in
 * cookie sent twice under one name (one planted by another host of the
 * site) is taken out of the request, so a tossed session reads as signed out.
 * Only pages and next-auth's own routes pass through here (see the matcher).
 */
export function proxy(request: NextRequest): NextResponse {
  const https = getConfig().NEXTAUTH_URL.startsWith("https://");
  const headers = new Headers(request.headers);
  const cookies = withoutDuplicateCookies(request.headers.get("cookie"), isAuthCookie);
  if (cookies !== null) {
    if (cookies) headers.set("cookie", cookies);
    else headers.delete("cookie");
  }
  let policy: string | null = null;
  // next-auth's JSON and redirects keep the fixed policy that allows nothing at all.
  if (!request.nextUrl.pathname.startsWith("/api/")) {
    policy = pageSecurityPolicy(newNonce(), { https, dev: process.env.NODE_ENV === "development" });
    // Next.js takes the nonce for its own scripts from the request's policy.
    headers.set("content-security-policy", policy);
  }
  const response = NextResponse.next({ request: { headers } });
  if (policy) response.headers.set("content-security-policy", policy);
  if (https) response.headers.set("strict-transport-security", STRICT_TRANSPORT_SECURITY);
  return response;
}

export const config = {
  matcher: [
    {
      // Static files are the same for everyone and carry no page. Our JSON
      // APIs and event streams need nothing from here: they keep the fixed
      // policy that allows nothing, and read the session through
      // lib/auth/session.ts, which trusts no duplicated cookie. Skipping them
      // saves every API request the proxy's run (about 0.5 ms of the event
      // loop). next-auth's routes (/api/auth/) read their cookies themselves,
      // so they still come here to have duplicates taken out.
      source: "/((?!_next/static/|api/(?!auth/)).*)",
      // Next.js buffers the whole body of every request its proxy sees (up to
      // 10 MB, then silently cuts it), before the route's own limit could
      // refuse it. Requests that carry a body go straight to their route.
      missing: [
        { type: "header", key: "content-length" },
        { type: "header", key: "transfer-encoding" },
      ],
    },
  ],
};
