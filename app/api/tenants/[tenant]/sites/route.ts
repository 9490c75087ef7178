import { NextResponse, type NextRequest } from "next/server";
import { requireApiUser } from "@/lib/auth/session";
import { clientIp } from "@/lib/auth/rate-limit";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireCsrf } from "@/lib/http/guard";
import { actorFor } from "@/lib/tenancy/access";
import { createSite, listSites } from "@/lib/sites/sites";

type Context = { params: Promise<{ tenant: string }> };

export async function GET(_request: NextRequest, context: Context) {
  try {
    const { tenant } = await context.params;
    const actor = await actorFor((await requireApiUser()).id, tenant);
    return NextResponse.json({ sites: await listSites(actor) });
  } catch (error) {
    return errorResponse(error, { route: "sites.list" });
  }
}

export async function POST(request: NextRequest, context: Context) {
  try {
    const { tenant } = await context.params;
    const user = await requireApiUser();
    requireCsrf(request);
    const actor = await actorFor(user.id, tenant);
    const site = await createSite(actor, await readJson(request), clientIp(request.headers));
    return NextResponse.json({ site }, { status: 201 });
  } catch (error) {
    return errorResponse(error, { route: "sites.create" });
  }
}
