import { NextResponse, type NextRequest } from "next/server";
import { changeName } from "@/lib/accounts/account";
import type { NameChangedResponse } from "@/lib/api/account-schemas";
import { clientIp } from "@/lib/auth/rate-limit";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireSessionUser } from "@/lib/http/actor";

export async function POST(request: NextRequest) {
  try {
    const user = await requireSessionUser(request);
    const { name } = await changeName(user.id, await readJson(request), clientIp(request.headers));
    return NextResponse.json({ name } satisfies NameChangedResponse);
  } catch (error) {
    return errorResponse(error, { route: "account.name" });
  }
}
