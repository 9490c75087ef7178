import { NextResponse, type NextRequest } from "next/server";
import { requireActor } from "@/lib/http/actor";
import { errorResponse } from "@/lib/http/errors";
import { tenantParamsSchema } from "@/lib/api/schemas";
import { listMembers } from "@/lib/tenancy/members";

type Context = { params: Promise<{ tenant: string }> };

export async function GET(request: NextRequest, context: Context) {
  try {
    const { tenant } = tenantParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    return NextResponse.json({ members: await listMembers(actor) });
  } catch (error) {
    return errorResponse(error, { route: "members.list" });
  }
}
