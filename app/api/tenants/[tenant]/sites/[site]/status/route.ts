import type { NextRequest } from "next/server";
import { deployChanges } from "@/lib/publishing/deploy-events";
import { liveStatusOf } from "@/lib/publishing/live-status";
import { db } from "@/lib/db";
import { errorResponse } from "@/lib/http/errors";
import { sseResponse } from "@/lib/http/sse";
import { clusterConfigured, followSiteStatus, getStatusHub } from "@/lib/publishing";
import { getSiteRow } from "@/lib/sites/sites";
import { requireActor } from "@/lib/http/actor";
import { tenantNamespace } from "@/lib/tenancy/slug";
import { siteParamsSchema } from "@/lib/api/schemas";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ tenant: string; site: string }> };

/**
 * Live status of one site as server-sent events. Every stream is fed by the
 * process's single watch on StaticSites (the status hub), so browsers never
 * poll the Kubernetes API. Events: `phase` (the site's phase), `health` (the
 * watch is or is not current) and `deploys` (the history changed; reload it).
 */
export async function GET(request: NextRequest, context: Context) {
  let tenantSlug: string;
  let site: { id: string; name: string };
  try {
    const { tenant, site: name } = siteParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "read");
    tenantSlug = actor.tenantSlug;
    site = await getSiteRow(actor, name);
  } catch (error) {
    return errorResponse(error, { route: "sites.status" });
  }
  const targetDigest = async () =>
    (await db().site.findUnique({ where: { id: site.id }, select: { targetDeploy: { select: { digest: true } } } }))?.targetDeploy?.digest ?? null;
  const hub = clusterConfigured() ? getStatusHub() : null;
  return sseResponse(
    request.signal,
    async ({ send, onClose }) => {
      const onDeploys = (siteId: string) => {
        if (siteId === site.id) send("deploys", { siteId });
      };
      deployChanges.on("changed", onDeploys);
      onClose(() => deployChanges.off("changed", onDeploys));
      if (hub) {
        onClose(followSiteStatus(hub, { namespace: tenantNamespace(tenantSlug), name: site.name, expectedDigest: targetDigest }, send));
        return;
      }
      send("phase", { ...liveStatusOf(tenantSlug, site.name, await targetDigest()), healthy: false });
    },
    { context: { route: "sites.status", tenant: tenantSlug, site: site.name } },
  );
}
