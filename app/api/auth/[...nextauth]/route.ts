import NextAuth from "next-auth";
import { NextRequest, NextResponse } from "next/server";
import { authOptions } from "@/lib/auth/options";
import { credentialsForm, isCredentialsSignIn, requireKnownAuthAction } from "@/lib/http/nextauth-request";
import { clientIp, consumeAttempt, RateLimitedError } from "@/lib/auth/rate-limit";
import { getConfig } from "@/lib/config";
import { readBodyLimited } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { emailSchema } from "@/lib/validation";

type Context = { params: Promise<{ nextauth: string[] }> };

function handle(request: NextRequest, context: Context) {
  return NextAuth(request as never, context as never, authOptions()) as Promise<Response>;
}

export async function GET(request: NextRequest, context: Context): Promise<Response> {
  try {
    requireKnownAuthAction("GET", (await context.params).nextauth);
    return await handle(request, context);
  } catch (error) {
    return errorResponse(error, { route: "auth" });
  }
}

export async function POST(request: NextRequest, context: Context): Promise<Response> {
  try {
    const { nextauth } = await context.params;
    requireKnownAuthAction("POST", nextauth);
    // Read once, under the limit; next-auth gets the very bytes we checked.
    const body = await readBodyLimited(request);
    if (isCredentialsSignIn("POST", nextauth)) {
      const email = emailSchema.safeParse(credentialsForm(request.headers.get("content-type"), body).email);
      await consumeAttempt({
        signInIp: clientIp(request.headers),
        ...(email.success ? { signInEmail: email.data } : {}),
      });
    }
    const replay = new NextRequest(request.url, { method: "POST", headers: request.headers, body: body as BodyInit });
    return await handle(replay, context);
  } catch (error) {
    if (error instanceof RateLimitedError) {
      // next-auth's own JSON answer carries a `url` with the error code; beside it, the one error shape. When to retry is in Retry-After.
      const url = new URL("/signin?error=RateLimited", getConfig().NEXTAUTH_URL).toString();
      return NextResponse.json(
        { url, error: { code: "rate_limited", message: error.message } },
        { status: 429, headers: { "Retry-After": String(error.retryAfterSeconds) } },
      );
    }
    return errorResponse(error, { route: "auth" });
  }
}
