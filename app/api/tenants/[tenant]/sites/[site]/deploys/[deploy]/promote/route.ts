import { NextResponse, type NextRequest } from "next/server";
import { clientIp } from "@/lib/auth/rate-limit";
import { promoteDeploy } from "@/lib/deploys/promote";
import { errorResponse } from "@/lib/http/errors";
import { requireActor } from "@/lib/http/actor";
import { deployParamsSchema, type DeployResponse } from "@/lib/api/schemas";

type Context = { params: Promise<{ tenant: string; site: string; deploy: string }> };

export async function POST(request: NextRequest, context: Context) {
  try {
    const { tenant, site, deploy } = deployParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "deploy");
    return NextResponse.json({ deploy: await promoteDeploy(actor, site, deploy, clientIp(request.headers)) } satisfies DeployResponse);
  } catch (error) {
    return errorResponse(error, { route: "deploys.promote" });
  }
}
