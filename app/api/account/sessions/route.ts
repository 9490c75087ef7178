import { NextResponse, type NextRequest } from "next/server";
import type { SessionsResponse } from "@/lib/api/account-schemas";
import { listSessions } from "@/lib/auth/user-sessions";
import { errorResponse } from "@/lib/http/errors";
import { requireSessionUser } from "@/lib/http/actor";

export async function GET(request: NextRequest) {
  try {
    const user = await requireSessionUser(request);
    return NextResponse.json({ sessions: await listSessions(user.id, user.sessionId) } satisfies SessionsResponse);
  } catch (error) {
    return errorResponse(error, { route: "account.sessions" });
  }
}
