import { NextResponse, type NextRequest } from "next/server";
import { confirmEmailChange } from "@/lib/accounts/email-change";
import type { EmailChangedResponse } from "@/lib/api/account-schemas";
import { clientIp } from "@/lib/auth/rate-limit";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireSessionUser } from "@/lib/http/actor";

export async function POST(request: NextRequest) {
  try {
    const user = await requireSessionUser(request);
    const answer = await confirmEmailChange(user.id, await readJson(request), clientIp(request.headers));
    return NextResponse.json(answer satisfies EmailChangedResponse);
  } catch (error) {
    return errorResponse(error, { route: "account.email.confirm" });
  }
}
