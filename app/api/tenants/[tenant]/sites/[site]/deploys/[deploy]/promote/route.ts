import { NextResponse, type NextRequest } from "next/server";
import { clientIp } from "@/lib/auth/rate-limit";
import { promoteDeploy } from "@/lib/deploys/promote";
import { errorResponse } from "@/lib/http/errors";
import { requireActor } from "@/lib/http/actor";

type Context = { params: Promise<{ tenant: string; site: string; deploy: string }> };

export async function POST(request: NextRequest, context: Context) {
  try {
    const { tenant, site, deploy } = await context.params;
    const actor = await requireActor(request, tenant, "deploy");
    return NextResponse.json({ deploy: await promoteDeploy(actor, site, deploy, clientIp(request.headers)) });
  } catch (error) {
    return errorResponse(error, { route: "deploys.promote" });
  }
}
