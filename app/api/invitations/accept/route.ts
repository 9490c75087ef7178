import { NextResponse, type NextRequest } from "next/server";
import { acceptInvitation } from "@/lib/accounts/invitations";
import { clientIp } from "@/lib/auth/rate-limit";
import { requireSessionUser } from "@/lib/http/actor";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";

/** The signed-in person accepts an invitation; the link's secret is in the body, never in this URL. */
export async function POST(request: NextRequest) {
  try {
    const user = await requireSessionUser(request);
    return NextResponse.json(await acceptInvitation(user, await readJson(request), clientIp(request.headers)));
  } catch (error) {
    return errorResponse(error, { route: "invitations.accept" });
  }
}
