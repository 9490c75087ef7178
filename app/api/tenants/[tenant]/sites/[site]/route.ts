import { NextResponse, type NextRequest } from "next/server";
import { clientIp } from "@/lib/auth/rate-limit";
import { errorResponse } from "@/lib/http/errors";
import { requireActor } from "@/lib/http/actor";
import { deleteSite, getSite } from "@/lib/sites/sites";
import { siteParamsSchema, type SiteResponse } from "@/lib/api/schemas";

type Context = { params: Promise<{ tenant: string; site: string }> };

export async function GET(request: NextRequest, context: Context) {
  try {
    const { tenant, site } = siteParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "read");
    return NextResponse.json({ site: await getSite(actor, site) } satisfies SiteResponse);
  } catch (error) {
    return errorResponse(error, { route: "sites.get" });
  }
}

export async function DELETE(request: NextRequest, context: Context) {
  try {
    const { tenant, site } = siteParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    await deleteSite(actor, site, clientIp(request.headers));
    return new NextResponse(null, { status: 204 });
  } catch (error) {
    return errorResponse(error, { route: "sites.delete" });
  }
}
