import { NextResponse, type NextRequest } from "next/server";
import { requireApiUser } from "@/lib/auth/session";
import { clientIp } from "@/lib/auth/rate-limit";
import { promoteDeploy } from "@/lib/deploys/promote";
import { errorResponse } from "@/lib/http/errors";
import { requireCsrf } from "@/lib/http/guard";
import { actorFor } from "@/lib/tenancy/access";

type Context = { params: Promise<{ tenant: string; site: string; deploy: string }> };

export async function POST(request: NextRequest, context: Context) {
  try {
    const { tenant, site, deploy } = await context.params;
    const user = await requireApiUser();
    requireCsrf(request);
    const actor = await actorFor(user.id, tenant);
    return NextResponse.json({ deploy: await promoteDeploy(actor, site, deploy, clientIp(request.headers)) });
  } catch (error) {
    return errorResponse(error, { route: "deploys.promote" });
  }
}
