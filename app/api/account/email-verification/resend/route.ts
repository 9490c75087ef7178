import { NextResponse, type NextRequest } from "next/server";
import { resendVerificationEmail } from "@/lib/accounts/email-verification";
import { clientIp } from "@/lib/auth/rate-limit";
import { readBodyLimited } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireSessionUser } from "@/lib/http/actor";
import type { VerificationSentResponse } from "@/lib/api/schemas";

export async function POST(request: NextRequest) {
  try {
    const user = await requireSessionUser(request);
    await readBodyLimited(request);
    await resendVerificationEmail(user.id, clientIp(request.headers));
    return NextResponse.json({ sent: true } satisfies VerificationSentResponse, { status: 202 });
  } catch (error) {
    return errorResponse(error, { route: "account.email-verification.resend" });
  }
}
