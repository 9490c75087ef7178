import { NextResponse, type NextRequest } from "next/server";
import { clientIp } from "@/lib/auth/rate-limit";
import { requireActor } from "@/lib/http/actor";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { memberParamsSchema } from "@/lib/api/member-schemas";
import { changeMemberRole, removeMember } from "@/lib/tenancy/members";

type Context = { params: Promise<{ tenant: string; member: string }> };

export async function PATCH(request: NextRequest, context: Context) {
  try {
    const { tenant, member } = memberParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    return NextResponse.json({ member: await changeMemberRole(actor, member, await readJson(request), clientIp(request.headers)) });
  } catch (error) {
    return errorResponse(error, { route: "members.change-role" });
  }
}

/** Removes a member; with one's own user id, leaves the workspace. */
export async function DELETE(request: NextRequest, context: Context) {
  try {
    const { tenant, member } = memberParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    await removeMember(actor, member, clientIp(request.headers));
    return new NextResponse(null, { status: 204 });
  } catch (error) {
    return errorResponse(error, { route: "members.remove" });
  }
}
