import { NextResponse, type NextRequest } from "next/server";
import { createInvitation, listInvitations } from "@/lib/accounts/invitations";
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
    return NextResponse.json({ invitations: await listInvitations(actor) });
  } catch (error) {
    return errorResponse(error, { route: "invitations.list" });
  }
}

export async function POST(request: NextRequest, context: Context) {
  try {
    const { tenant } = tenantParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    return NextResponse.json({ invitation: await createInvitation(actor, await readJson(request), clientIp(request.headers)) }, { status: 201 });
  } catch (error) {
    return errorResponse(error, { route: "invitations.create" });
  }
}
