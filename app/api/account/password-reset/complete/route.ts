import { NextResponse, type NextRequest } from "next/server";
import { completePasswordReset } from "@/lib/accounts/password-reset";
import { clientIp } from "@/lib/auth/rate-limit";
import { sessionCookie } from "@/lib/auth/session-token";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireCsrf } from "@/lib/http/guard";
import type { PasswordResetResponse } from "@/lib/api/schemas";

export async function POST(request: NextRequest) {
  try {
    requireCsrf(request);
    await completePasswordReset(await readJson(request), clientIp(request.headers));
    // Every session of the account has ended, this browser's too if it had one: it signs in afresh.
    const response = NextResponse.json({ reset: true } satisfies PasswordResetResponse);
    const cookie = sessionCookie();
    response.cookies.set(cookie.name, "", { ...cookie.options, maxAge: 0 });
    return response;
  } catch (error) {
    return errorResponse(error, { route: "account.password-reset.complete" });
  }
}
