import type { NextRequest } from "next/server";
import { requireApiUser } from "@/lib/auth/session";
import { errorResponse } from "@/lib/http/errors";
import { SSE_HEADERS, SSE_KEEPALIVE, SSE_KEEPALIVE_MS } from "@/lib/http/sse";
import { clusterConfigured, getStatusHub, sseEvent } from "@/lib/publishing";
import { actorFor } from "@/lib/tenancy/access";
import { tenantNamespace } from "@/lib/tenancy/slug";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ tenant: string }> };

/**
 * Server-sent events for a workspace's site list: `site` (with the site's
 * name) whenever the cluster reports a change of one of its sites, so the
 * list can reload its badges. Fed by the process's single status watch;
 * nothing is sent about other workspaces.
 */
export async function GET(request: NextRequest, context: Context) {
  let namespace: string;
  try {
    const { tenant } = await context.params;
    const actor = await actorFor((await requireApiUser()).id, tenant);
    namespace = tenantNamespace(actor.tenantSlug);
  } catch (error) {
    return errorResponse(error, { route: "tenants.events" });
  }
  const hub = clusterConfigured() ? getStatusHub() : null;
  const encoder = new TextEncoder();
  let cleanup = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const send = (text: string) => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      const unsubscribe = hub?.subscribeNamespace(namespace, (name) => send(sseEvent("site", { name }))) ?? (() => {});
      const keepalive = setInterval(() => send(SSE_KEEPALIVE), SSE_KEEPALIVE_MS);
      cleanup = () => {
        if (closed) return;
        closed = true;
        clearInterval(keepalive);
        unsubscribe();
        try {
          controller.close();
        } catch {
          // Already closed by the client going away.
        }
      };
      request.signal.addEventListener("abort", () => cleanup());
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(stream, {
    headers: SSE_HEADERS,
  });
}
