import { NextResponse, type NextRequest } from "next/server";
import { changePassword } from "@/lib/accounts/account";
import { clientIp } from "@/lib/auth/rate-limit";
import { issueSessionCookie } from "@/lib/auth/session-token";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireSessionUser } from "@/lib/http/actor";

export async function POST(request: NextRequest) {
  try {
    const user = await requireSessionUser(request);
    const { sessionVersion } = await changePassword(user.id, await readJson(request), clientIp(request.headers));
    // Every other session has just ended; this browser gets a token of the new version.
    const cookie = await issueSessionCookie({ ...user, sessionVersion });
    const response = NextResponse.json({ signedIn: true });
    response.cookies.set(cookie.name, cookie.value, cookie.options);
    return response;
  } catch (error) {
    return errorResponse(error, { route: "account.password" });
  }
}
