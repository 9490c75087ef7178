import { NextResponse, type NextRequest } from "next/server";
import { confirmOidcLink } from "@/lib/auth/oidc-link";
import { clientIp } from "@/lib/auth/rate-limit";
import { sessionCookie } from "@/lib/auth/session-token";
import { oidcLinkBodySchema, type OidcLinkedResponse } from "@/lib/api/schemas";
import { requireSessionUser } from "@/lib/http/actor";
import { readJson } from "@/lib/http/body";
import { singleCookie } from "@/lib/http/cookies";
import { errorResponse } from "@/lib/http/errors";

export async function POST(request: NextRequest) {
  try {
    // Signed in, CSRF header, no API token; the proof itself (which account, signed in when) is the domain's to judge.
    await requireSessionUser(request);
    const { pending } = oidcLinkBodySchema.parse(await readJson(request));
    const linked = await confirmOidcLink(pending, singleCookie(request.headers.get("cookie"), sessionCookie().name), clientIp(request.headers));
    return NextResponse.json({ linked: true, tenant: linked.tenant } satisfies OidcLinkedResponse);
  } catch (error) {
    return errorResponse(error, { route: "oidc.link" });
  }
}
