import { NextResponse, type NextRequest } from "next/server";
import { clientIp } from "@/lib/auth/rate-limit";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireActor } from "@/lib/http/actor";
import { getSiteSettings, updateSiteSettings } from "@/lib/sites/settings";
import { siteParamsSchema, type SiteSettingsResponse } from "@/lib/api/schemas";

type Context = { params: Promise<{ tenant: string; site: string }> };

export async function GET(request: NextRequest, context: Context) {
  try {
    const { tenant, site } = siteParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "read");
    return NextResponse.json({ settings: await getSiteSettings(actor, site) } satisfies SiteSettingsResponse);
  } catch (error) {
    return errorResponse(error, { route: "sites.settings.get" });
  }
}

// A settings change goes live like a deploy, so it takes what a deploy takes: a session, or a token with the deploy scope.
export async function PATCH(request: NextRequest, context: Context) {
  try {
    const { tenant, site } = siteParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "deploy");
    const settings = await updateSiteSettings(actor, site, await readJson(request), clientIp(request.headers));
    return NextResponse.json({ settings } satisfies SiteSettingsResponse);
  } catch (error) {
    return errorResponse(error, { route: "sites.settings.update" });
  }
}
