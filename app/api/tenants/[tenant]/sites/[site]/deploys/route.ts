import { NextResponse, type NextRequest } from "next/server";
import { clientIp } from "@/lib/auth/rate-limit";
import { listDeploys } from "@/lib/deploys/list";
import { uploadDeployWithinLimits } from "@/lib/deploys/admission";
import { ApiError, errorResponse } from "@/lib/http/errors";
import { requireActor } from "@/lib/http/actor";
import { deployUploadQuery, siteParamsSchema, type DeployResponse, type DeploysResponse } from "@/lib/api/schemas";

type Context = { params: Promise<{ tenant: string; site: string }> };

export async function GET(request: NextRequest, context: Context) {
  try {
    const { tenant, site } = siteParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "read");
    return NextResponse.json({ deploys: await listDeploys(actor, site) } satisfies DeploysResponse);
  } catch (error) {
    return errorResponse(error, { route: "deploys.list" });
  }
}

/**
 * The zip is the raw request body (application/zip), so it can be streamed
 * to disk as it arrives. Admission (429/507) happens before the first byte
 * is read; a stalled or too slow body is cut off with 408.
 */
export async function POST(request: NextRequest, context: Context) {
  try {
    const { tenant, site } = siteParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "deploy");
    const { message, promote } = deployUploadQuery.parse({
      message: request.nextUrl.searchParams.get("message") ?? undefined,
      promote: request.nextUrl.searchParams.get("promote") ?? undefined,
    });
    if (!request.body) throw new ApiError(400, "empty_body", "Send the zip file as the request body.");
    const type = request.headers.get("content-type") ?? "";
    if (!/^application\/(zip|x-zip-compressed|octet-stream)\b/.test(type)) {
      throw new ApiError(415, "unsupported_media_type", "Send the site as a .zip file (Content-Type: application/zip).");
    }
    const length = request.headers.get("content-length");
    const deploy = await uploadDeployWithinLimits(actor, site, {
      body: request.body,
      declaredLength: length === null ? null : Number(length),
      ip: clientIp(request.headers),
      message: message ?? null,
      promote: promote !== "false",
    });
    return NextResponse.json({ deploy } satisfies DeployResponse, { status: 201 });
  } catch (error) {
    return errorResponse(error, { route: "deploys.upload" });
  }
}
