import { NextResponse, type NextRequest } from "next/server";
import { clientIp } from "@/lib/auth/rate-limit";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireActor } from "@/lib/http/actor";
import { createSite, listSites } from "@/lib/sites/sites";
import { tenantParamsSchema, type SiteResponse, type SitesResponse } from "@/lib/api/schemas";

type Context = { params: Promise<{ tenant: string }> };

export async function GET(request: NextRequest, context: Context) {
  try {
    const { tenant } = tenantParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "read");
    return NextResponse.json({ sites: await listSites(actor) } satisfies SitesResponse);
  } catch (error) {
    return errorResponse(error, { route: "sites.list" });
  }
}

export async function POST(request: NextRequest, context: Context) {
  try {
    const { tenant } = tenantParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    const site = await createSite(actor, await readJson(request), clientIp(request.headers));
    return NextResponse.json({ site } satisfies SiteResponse, { status: 201 });
  } catch (error) {
    return errorResponse(error, { route: "sites.create" });
  }
}
