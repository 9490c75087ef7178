import NextAuth from "next-auth";
import { NextResponse, type NextRequest } from "next/server";
import { authOptions } from "@/lib/auth/options";
import { clientIp, consumeAttempt, RateLimitedError } from "@/lib/auth/rate-limit";
import { getConfig } from "@/lib/config";
import { emailSchema } from "@/lib/validation";

type Context = { params: Promise<{ nextauth: string[] }> };

function handle(request: NextRequest, context: Context) {
  return NextAuth(request as never, context as never, authOptions()) as Promise<Response>;
}

export const GET = handle;

export async function POST(request: NextRequest, context: Context): Promise<Response> {
  const { nextauth } = await context.params;
  if (nextauth.join("/") === "callback/credentials") {
    const form = await request.clone().formData();
    const email = emailSchema.safeParse(form.get("email"));
    try {
      await consumeAttempt({
        signInIp: clientIp(request.headers),
        ...(email.success ? { signInEmail: email.data } : {}),
      });
    } catch (error) {
      if (!(error instanceof RateLimitedError)) throw error;
      // Shaped like next-auth's own JSON answer so its client reports the error code.
      const url = new URL("/signin?error=RateLimited", getConfig().NEXTAUTH_URL).toString();
      return NextResponse.json(
        { url, error: { code: "rate_limited", message: error.message } },
        { status: 429, headers: { "Retry-After": String(error.retryAfterSeconds) } },
      );
    }
  }
  return handle(request, context);
}
