import { NextResponse, type NextRequest } from "next/server";
import { clientIp } from "@/lib/auth/rate-limit";
import { readJson } from "@/lib/http/body";
import { errorResponse } from "@/lib/http/errors";
import { requireActor } from "@/lib/http/actor";
import { addDomain, listDomains } from "@/lib/domains/domains";
import { siteParamsSchema } from "@/lib/api/schemas";
import type { DomainResponse, DomainsResponse } from "@/lib/api/domain-schemas";

type Context = { params: Promise<{ tenant: string; site: string }> };

// Custom domains are an owner's business (the domain function checks it): a session, never a token.
export async function GET(request: NextRequest, context: Context) {
  try {
    const { tenant, site } = siteParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    return NextResponse.json({ domains: await listDomains(actor, site) } satisfies DomainsResponse);
  } catch (error) {
    return errorResponse(error, { route: "domains.list" });
  }
}

export async function POST(request: NextRequest, context: Context) {
  try {
    const { tenant, site } = siteParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    const domain = await addDomain(actor, site, await readJson(request), clientIp(request.headers));
    return NextResponse.json({ domain } satisfies DomainResponse, { status: 201 });
  } catch (error) {
    return errorResponse(error, { route: "domains.add" });
  }
}
