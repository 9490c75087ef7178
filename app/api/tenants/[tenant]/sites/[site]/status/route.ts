import type { NextRequest } from "next/server";
import { requireApiUser } from "@/lib/auth/session";
import { deployChanges } from "@/lib/publishing/rollout-tracker";
import { liveStatusOf } from "@/lib/publishing/live-status";
import { db } from "@/lib/db";
import { errorResponse } from "@/lib/http/errors";
import { SSE_HEADERS, SSE_KEEPALIVE, SSE_KEEPALIVE_MS } from "@/lib/http/sse";
import { clusterConfigured, getStatusHub, siteStatusStream, sseEvent } from "@/lib/publishing";
import { getSiteRow } from "@/lib/sites/sites";
import { actorFor } from "@/lib/tenancy/access";
import { tenantNamespace } from "@/lib/tenancy/slug";

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
    const { tenant, site: name } = await context.params;
    const actor = await actorFor((await requireApiUser()).id, tenant);
    tenantSlug = actor.tenantSlug;
    site = await getSiteRow(actor, name);
  } catch (error) {
    return errorResponse(error, { route: "sites.status" });
  }
  const targetDigest = async () =>
    (await db().site.findUnique({ where: { id: site.id }, select: { targetDeploy: { select: { digest: true } } } }))?.targetDeploy?.digest ?? null;

  const encoder = new TextEncoder();
  const hub = clusterConfigured() ? getStatusHub() : null;
  let cleanup = () => {};
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      let closed = false;
      const send = (chunk: Uint8Array | string) => {
        if (!closed) controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      };
      const onDeploys = (siteId: string) => {
        if (siteId === site.id) send(sseEvent("deploys", { siteId }));
      };
      deployChanges.on("changed", onDeploys);
      const keepalive = setInterval(() => send(SSE_KEEPALIVE), SSE_KEEPALIVE_MS);
      cleanup = () => {
        if (closed) return;
        closed = true;
        clearInterval(keepalive);
        deployChanges.off("changed", onDeploys);
        try {
          controller.close();
        } catch {
          // Already closed by the client going away.
        }
      };
      request.signal.addEventListener("abort", () => cleanup());

      if (!hub) {
        send(sseEvent("phase", { ...liveStatusOf(tenantSlug, site.name, await targetDigest()), healthy: false }));
        return;
      }
      const reader = siteStatusStream(hub, {
        namespace: tenantNamespace(tenantSlug),
        name: site.name,
        expectedDigest: targetDigest,
        signal: request.signal,
      }).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        send(value);
      }
      cleanup();
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(stream, {
    headers: SSE_HEADERS,
  });
}
