import { NextResponse, type NextRequest } from "next/server";
import { clientIp } from "@/lib/auth/rate-limit";
import { errorResponse } from "@/lib/http/errors";
import { requireActor } from "@/lib/http/actor";
import { removeDomain } from "@/lib/domains/domains";
import { domainParamsSchema } from "@/lib/api/domain-schemas";

type Context = { params: Promise<{ tenant: string; site: string; domain: string }> };

export async function DELETE(request: NextRequest, context: Context) {
  try {
    const { tenant, site, domain } = domainParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    await removeDomain(actor, site, domain, clientIp(request.headers));
    return new NextResponse(null, { status: 204 });
  } catch (error) {
    return errorResponse(error, { route: "domains.remove" });
  }
}
