import { NextResponse, type NextRequest } from "next/server";
import { confirmOidcLink } from "@/lib/auth/oidc-link";
import { clientIp } from "@/lib/auth/rate-limit";
import { sessionCookie } from "@/lib/auth/session-token";
import { oidcLinkBodySchema, type OidcLinkedResponse } from "@/lib/api/schemas";
import { readJson } from "@/lib/http/body";
import { singleCookie } from "@/lib/http/cookies";
import { ApiError, errorResponse } from "@/lib/http/errors";
import { requireCsrf } from "@/lib/http/guard";

export async function POST(request: NextRequest) {
  try {
    if (request.headers.get("authorization") !== null) {
      throw new ApiError(403, "token_not_allowed", "API tokens cannot link an identity. Sign in to the dashboard to do it.");
    }
    requireCsrf(request);
    const { pending } = oidcLinkBodySchema.parse(await readJson(request));
    const linked = await confirmOidcLink(pending, singleCookie(request.headers.get("cookie"), sessionCookie().name), clientIp(request.headers));
    return NextResponse.json({ linked: true, tenant: linked.tenant } satisfies OidcLinkedResponse);
  } catch (error) {
    return errorResponse(error, { route: "oidc.link" });
  }
}
