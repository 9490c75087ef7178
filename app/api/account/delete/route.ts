import { NextResponse, type NextRequest } from "next/server";
import { deleteAccount } from "@/lib/accounts/account";
import type { AccountDeletedResponse } from "@/lib/api/account-schemas";
import { clientIp } from "@/lib/auth/rate-limit";
import { sessionCookie } from "@/lib/auth/session-token";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireSessionUser } from "@/lib/http/actor";

export async function POST(request: NextRequest) {
  try {
    const user = await requireSessionUser(request);
    await deleteAccount(user.id, await readJson(request), clientIp(request.headers));
    const response = NextResponse.json({ deleted: true } satisfies AccountDeletedResponse);
    const cookie = sessionCookie();
    response.cookies.set(cookie.name, "", { ...cookie.options, maxAge: 0 });
    return response;
  } catch (error) {
    return errorResponse(error, { route: "account.delete" });
  }
}
