import { NextResponse, type NextRequest } from "next/server";
import { signOutEverywhere } from "@/lib/accounts/account";
import { clientIp } from "@/lib/auth/rate-limit";
import { sessionCookie } from "@/lib/auth/session-token";
import { readBodyLimited } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireSessionUser } from "@/lib/http/actor";

export async function POST(request: NextRequest) {
  try {
    const user = await requireSessionUser(request);
    // No fields, but a body is still read under the limit rather than ignored unread.
    await readBodyLimited(request);
    await signOutEverywhere(user.id, clientIp(request.headers));
    const response = NextResponse.json({ signedOut: true });
    const cookie = sessionCookie();
    response.cookies.set(cookie.name, "", { ...cookie.options, maxAge: 0 });
    return response;
  } catch (error) {
    return errorResponse(error, { route: "account.sign-out-everywhere" });
  }
}
