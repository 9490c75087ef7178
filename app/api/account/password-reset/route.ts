import { NextResponse, type NextRequest } from "next/server";
import { requestPasswordReset } from "@/lib/accounts/password-reset";
import { clientIp } from "@/lib/auth/rate-limit";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireCsrf } from "@/lib/http/guard";
import type { ResetRequestedResponse } from "@/lib/api/schemas";

export async function POST(request: NextRequest) {
  try {
    requireCsrf(request);
    // The email (if the address has an account) goes out after the answer and never rejects, so
    // known and unknown addresses are answered alike; the dashboard's Node server keeps running it.
    const { message } = await requestPasswordReset(await readJson(request), clientIp(request.headers));
    return NextResponse.json({ message } satisfies ResetRequestedResponse, { status: 202 });
  } catch (error) {
    return errorResponse(error, { route: "account.password-reset" });
  }
}
