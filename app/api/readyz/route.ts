import { db } from "@/lib/db";
import { componentLogger } from "@/lib/log";

const log = componentLogger("readyz");

export const dynamic = "force-dynamic";

/** Readiness: the dashboard can reach its database, so it can take traffic. */
export async function GET(): Promise<Response> {
  try {
    await db().$queryRaw`SELECT 1`;
    return Response.json({ ok: true });
  } catch (error) {
    log.warn({ err: error }, "not ready: database unreachable");
    return Response.json({ ok: false, reason: "database unreachable" }, { status: 503 });
  }
}
