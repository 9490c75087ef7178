import { NextResponse, type NextRequest } from "next/server";
import { revokeApiToken } from "@/lib/auth/api-tokens";
import { clientIp } from "@/lib/auth/rate-limit";
import { requireActor } from "@/lib/http/actor";
import { errorResponse } from "@/lib/http/errors";
import { tokenParamsSchema } from "@/lib/api/schemas";

type Context = { params: Promise<{ tenant: string; token: string }> };

/** Revokes the token; the row stays, so the list and the deploy history still name it. */
export async function DELETE(request: NextRequest, context: Context) {
  try {
    const { tenant, token } = tokenParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    return NextResponse.json({ apiToken: await revokeApiToken(actor, token, clientIp(request.headers)) });
  } catch (error) {
    return errorResponse(error, { route: "tokens.revoke" });
  }
}
