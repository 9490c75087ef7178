import { NextResponse, type NextRequest } from "next/server";
import { sendVerificationEmail } from "@/lib/accounts/email-verification";
import { signUp } from "@/lib/accounts/signup";
import { clientIp, consumeAttempt } from "@/lib/auth/rate-limit";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireCsrf } from "@/lib/http/guard";
import { type SignUpResponse } from "@/lib/api/schemas";

export async function POST(request: NextRequest) {
  const ip = clientIp(request.headers);
  try {
    requireCsrf(request);
    // The body first: one refused for its size (413) or shape writes nothing, not even an attempt.
    const input = await readJson(request);
    await consumeAttempt({ signUpIp: ip });
    const result = await signUp(input, ip);
    // The account works whatever the mail server says; the dashboard's banner tells the person how the email went.
    await sendVerificationEmail(result.userId, ip);
    return NextResponse.json({ tenant: result.tenantSlug } satisfies SignUpResponse, { status: 201 });
  } catch (error) {
    return errorResponse(error, { route: "signup" });
  }
}
