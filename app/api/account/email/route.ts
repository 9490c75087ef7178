import { NextResponse, type NextRequest } from "next/server";
import { requestEmailChange } from "@/lib/accounts/email-change";
import type { EmailChangeRequestedResponse } from "@/lib/api/account-schemas";
import { clientIp } from "@/lib/auth/rate-limit";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireSessionUser } from "@/lib/http/actor";

export async function POST(request: NextRequest) {
  try {
    const user = await requireSessionUser(request);
    const answer = await requestEmailChange(user.id, await readJson(request), clientIp(request.headers));
    return NextResponse.json(answer satisfies EmailChangeRequestedResponse, { status: 202 });
  } catch (error) {
    return errorResponse(error, { route: "account.email" });
  }
}
