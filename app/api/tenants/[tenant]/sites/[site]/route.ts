import { NextResponse, type NextRequest } from "next/server";
import { requireApiUser } from "@/lib/auth/session";
import { clientIp } from "@/lib/auth/rate-limit";
import { errorResponse } from "@/lib/http/errors";
import { requireCsrf } from "@/lib/http/guard";
import { actorFor } from "@/lib/tenancy/access";
import { deleteSite, getSite } from "@/lib/sites/sites";

type Context = { params: Promise<{ tenant: string; site: string }> };

export async function GET(_request: NextRequest, context: Context) {
  try {
    const { tenant, site } = await context.params;
    const actor = await actorFor((await requireApiUser()).id, tenant);
    return NextResponse.json({ site: await getSite(actor, site) });
  } catch (error) {
    return errorResponse(error, { route: "sites.get" });
  }
}

export async function DELETE(request: NextRequest, context: Context) {
  try {
    const { tenant, site } = await context.params;
    const user = await requireApiUser();
    requireCsrf(request);
    const actor = await actorFor(user.id, tenant);
    await deleteSite(actor, site, clientIp(request.headers));
    return new NextResponse(null, { status: 204 });
  } catch (error) {
    return errorResponse(error, { route: "sites.delete" });
  }
}
