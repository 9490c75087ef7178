import { NextResponse, type NextRequest } from "next/server";
import { auditCsv, listAuditEvents, parseAuditQuery } from "@/lib/accounts/audit-log";
import type { AuditResponse } from "@/lib/api/audit-schemas";
import { tenantParamsSchema } from "@/lib/api/schemas";
import { errorResponse } from "@/lib/http/errors";
import { requireActor } from "@/lib/http/actor";

type Context = { params: Promise<{ tenant: string }> };

/** The workspace's audit log, for owners: a page as JSON, or with `format=csv` the matching events as a CSV download. */
export async function GET(request: NextRequest, context: Context) {
  try {
    const { tenant } = tenantParamsSchema.parse(await context.params);
    const actor = await requireActor(request, tenant, "session");
    const query = parseAuditQuery(Object.fromEntries(request.nextUrl.searchParams));
    if (query.format === "csv") {
      const csv = await auditCsv(actor, query);
      return new Response(csv.body, {
        headers: {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": `attachment; filename="audit-${actor.tenantSlug}-${new Date().toISOString().slice(0, 10)}.csv"`,
          "cache-control": "no-store",
          "pagoda-audit-truncated": csv.truncated ? "true" : "false",
        },
      });
    }
    return NextResponse.json((await listAuditEvents(actor, query)) satisfies AuditResponse, { headers: { "cache-control": "no-store" } });
  } catch (error) {
    return errorResponse(error, { route: "audit.list" });
  }
}
