import "server-only";
import type { NextRequest } from "next/server";
import { authenticateBearer, tokenActorFor, type Need, type TokenIdentity } from "@/lib/auth/api-tokens";
import { clientIp } from "@/lib/auth/rate-limit";
import { requireApiUser, type CurrentUser } from "@/lib/auth/session";
import { sessionCookie } from "@/lib/auth/session-token";
import { tokenInQuery } from "@/lib/auth/token-format";
import { UnauthenticatedError } from "@/lib/errors";
import { hasDuplicateCookie, isAuthCookie } from "@/lib/http/cookies";
import { ApiError } from "@/lib/http/errors";
import { requireCsrf } from "@/lib/http/guard";
import { actorFor, type TenantActor } from "@/lib/tenancy/access";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A token in a URL ends up in access logs, proxies and browser history, so
 * one there is refused even when the request is otherwise fine, and the
 * answer says to replace it.
 */
function refuseTokenInUrl(request: NextRequest): void {
  if (tokenInQuery(request.nextUrl.searchParams)) {
    throw new UnauthenticatedError(
      'API tokens are never accepted in the URL. Send the token in the Authorization header ("Bearer <token>"), and revoke this one: URLs are logged.',
      "token_in_url",
    );
  }
}

function bearerOf(request: NextRequest, authorization: string): Promise<TokenIdentity> {
  return authenticateBearer({ authorization, ip: clientIp(request.headers), userAgent: request.headers.get("user-agent") });
}

/**
 * The signed-in person of a browser request, with the CSRF check for
 * anything that is not a read. API routes do not pass through the proxy,
 * which takes a sign-in cookie sent twice out of a page's request, so such
 * a pair is judged here the same way: a read with two session cookies is
 * signed out, and a state-changing call with any sign-in cookie twice is
 * refused (conflicting_cookies) before either copy is looked at.
 */
async function browserUser(request: NextRequest): Promise<CurrentUser> {
  const safe = SAFE_METHODS.has(request.method);
  const cookies = request.headers.get("cookie");
  if (hasDuplicateCookie(cookies, isAuthCookie)) {
    if (!safe) requireCsrf(request);
    const session = sessionCookie().name;
    if (hasDuplicateCookie(cookies, (name) => name === session)) throw new UnauthenticatedError();
  }
  const user = await requireApiUser();
  if (!safe) requireCsrf(request);
  return user;
}

/**
 * The caller of a workspace route, and the one auth call such a route makes.
 * A request with an Authorization header is judged by its token alone:
 * cookies are not read and no CSRF header is needed (a browser never adds
 * one on its own, so a cross-site page cannot ride on it). Without one, the
 * browser session is required, and the CSRF check for anything that is not
 * a read. `need` is the token scope the route takes, or "session" for
 * what only a signed-in person may do.
 */
export async function requireActor(request: NextRequest, tenantSlug: string, need: Need): Promise<TenantActor> {
  refuseTokenInUrl(request);
  const authorization = request.headers.get("authorization");
  if (authorization !== null) return tokenActorFor(await bearerOf(request, authorization), tenantSlug, need);
  const user = await browserUser(request);
  return actorFor(user.id, tenantSlug);
}

/** For routes about the signed-in person (password, sessions): a token is refused, whatever it is. */
export async function requireSessionUser(request: NextRequest): Promise<CurrentUser> {
  if (request.headers.get("authorization") !== null) {
    throw new ApiError(403, "token_not_allowed", "API tokens cannot change an account. Sign in to the dashboard to do it.");
  }
  return browserUser(request);
}

/** For `GET /api/token`: the token of the request, which must have one. */
export async function requireBearer(request: NextRequest): Promise<TokenIdentity> {
  refuseTokenInUrl(request);
  const authorization = request.headers.get("authorization");
  if (authorization === null) {
    throw new UnauthenticatedError('Send an API token in the Authorization header: "Bearer <token>".', "token_missing");
  }
  return bearerOf(request, authorization);
}
