import { NextResponse, type NextRequest } from "next/server";
import { verifyEmail } from "@/lib/accounts/email-verification";
import { clientIp } from "@/lib/auth/rate-limit";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireCsrf } from "@/lib/http/guard";
import type { EmailVerifiedResponse } from "@/lib/api/schemas";

export async function POST(request: NextRequest) {
  try {
    requireCsrf(request);
    await verifyEmail(await readJson(request), clientIp(request.headers));
    return NextResponse.json({ verified: true } satisfies EmailVerifiedResponse);
  } catch (error) {
    return errorResponse(error, { route: "account.email-verification" });
  }
}
