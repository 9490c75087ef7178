import { NextResponse, type NextRequest } from "next/server";
import { createApiToken, listApiTokens } from "@/lib/auth/api-tokens";
import { clientIp } from "@/lib/auth/rate-limit";
import { requireActor } from "@/lib/http/actor";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { tenantParamsSchema } from "@/lib/api/schemas";

type Context = { params: Promise<{ tenant: string }> };

export async function GET(request: NextRequest, context: Context) {
  try {
    const { tenant } = tenantParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    return NextResponse.json({ tokens: await listApiTokens(actor) });
  } catch (error) {
    return errorResponse(error, { route: "tokens.list" });
  }
}

/** Answers the new token once, in `token`; it is stored only as a hash. */
export async function POST(request: NextRequest, context: Context) {
  try {
    const { tenant } = tenantParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    const { token, view } = await createApiToken(actor, await readJson(request), clientIp(request.headers));
    return NextResponse.json({ token, apiToken: view }, { status: 201, headers: { "cache-control": "no-store" } });
  } catch (error) {
    return errorResponse(error, { route: "tokens.create" });
  }
}
