import { NextResponse, type NextRequest } from "next/server";
import { errorResponse } from "@/lib/http/errors";
import { requireBearer } from "@/lib/http/actor";
import { type TokenResponse } from "@/lib/api/schemas";

/** The token of the request and its workspace: how a client checks a token before using it. */
export async function GET(request: NextRequest) {
  try {
    const { credential, tenant, expiresAt } = await requireBearer(request);
    return NextResponse.json({
      token: { name: credential.name, scopes: credential.scopes, expiresAt, workspace: { slug: tenant.slug, name: tenant.name } },
    } satisfies TokenResponse);
  } catch (error) {
    return errorResponse(error, { route: "token.get" });
  }
}
