import "server-only";
import type { NextRequest } from "next/server";
import { authenticateBearer, tokenActorFor, type Need, type TokenIdentity } from "@/lib/auth/api-tokens";
import { clientIp } from "@/lib/auth/rate-limit";
import { requireApiUser, type CurrentUser } from "@/lib/auth/session";
import { tokenInQuery } from "@/lib/auth/token-format";
import { UnauthenticatedError } from "@/lib/errors";
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
  const user = await requireApiUser();
  if (!SAFE_METHODS.has(request.method)) requireCsrf(request);
  return actorFor(user.id, tenantSlug);
}

/** For routes about the signed-in person (password, sessions): a token is refused, whatever it is. */
export async function requireSessionUser(request: NextRequest): Promise<CurrentUser> {
  if (request.headers.get("authorization") !== null) {
    throw new ApiError(403, "token_not_allowed", "API tokens cannot change an account. Sign in to the dashboard to do it.");
  }
  const user = await requireApiUser();
  if (!SAFE_METHODS.has(request.method)) requireCsrf(request);
  return user;
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
