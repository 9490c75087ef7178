import { NextResponse, type NextRequest } from "next/server";
import { revokeInvitation } from "@/lib/accounts/invitations";
import { clientIp } from "@/lib/auth/rate-limit";
import { requireActor } from "@/lib/http/actor";
import { errorResponse } from "@/lib/http/errors";
import { invitationParamsSchema } from "@/lib/api/member-schemas";

type Context = { params: Promise<{ tenant: string; invitation: string }> };

/** Withdraws the invitation: its link stops working. */
export async function DELETE(request: NextRequest, context: Context) {
  try {
    const { tenant, invitation } = invitationParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    return NextResponse.json({ invitation: await revokeInvitation(actor, invitation, clientIp(request.headers)) });
  } catch (error) {
    return errorResponse(error, { route: "invitations.revoke" });
  }
}
