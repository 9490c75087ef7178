import type { NextRequest } from "next/server";
import { errorResponse } from "@/lib/http/errors";
import { sseResponse } from "@/lib/http/sse";
import { clusterConfigured, getStatusHub } from "@/lib/publishing";
import { followListChanges } from "@/lib/publishing/list-changes";
import { requireActor } from "@/lib/http/actor";
import { tenantNamespace } from "@/lib/tenancy/slug";
import { tenantParamsSchema } from "@/lib/api/schemas";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ tenant: string }> };

/**
 * Server-sent events for a workspace's site list: `site` (with the site's
 * name) whenever the cluster reports a change of one of its sites that its
 * row would show (a new phase or digest), so the list can reload its
 * badges. Fed by the process's single status watch; nothing is sent about
 * other workspaces.
 */
export async function GET(request: NextRequest, context: Context) {
  let namespace: string;
  try {
    const { tenant } = tenantParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "read");
    namespace = tenantNamespace(actor.tenantSlug);
  } catch (error) {
    return errorResponse(error, { route: "tenants.events" });
  }
  const hub = clusterConfigured() ? getStatusHub() : null;
  return sseResponse(
    request.signal,
    ({ send, onClose }) => {
      if (hub) onClose(followListChanges(hub, namespace, (name) => send("site", { name })));
    },
    { context: { route: "tenants.events", namespace } },
  );
}
