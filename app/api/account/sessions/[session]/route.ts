import { NextResponse, type NextRequest } from "next/server";
import { sessionParamsSchema, type SessionEndedResponse } from "@/lib/api/account-schemas";
import { clientIp } from "@/lib/auth/rate-limit";
import { sessionCookie } from "@/lib/auth/session-token";
import { endSession, noSuchSession } from "@/lib/auth/user-sessions";
import { readBodyLimited } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireSessionUser } from "@/lib/http/actor";

type Context = { params: Promise<{ session: string }> };

export async function DELETE(request: NextRequest, context: Context) {
  try {
    const params = sessionParamsSchema.safeParse(await context.params);
    const user = await requireSessionUser(request);
    // An id that could never be a session is answered like one that has ended.
    if (!params.success) throw noSuchSession();
    await readBodyLimited(request);
    await endSession(user.id, params.data.session, clientIp(request.headers));
    const signedOut = params.data.session === user.sessionId;
    const response = NextResponse.json({ ended: true, signedOut } satisfies SessionEndedResponse);
    if (signedOut) {
      const cookie = sessionCookie();
      response.cookies.set(cookie.name, "", { ...cookie.options, maxAge: 0 });
    }
    return response;
  } catch (error) {
    return errorResponse(error, { route: "account.sessions.end" });
  }
}
