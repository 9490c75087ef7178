import type { Prisma } from "@/lib/generated/prisma/client";
import { db } from "@/lib/db";

export interface AuditEntry {
  action: string;
  outcome: "success" | "failure";
  tenantId?: string | null;
  actorId?: string | null;
  target?: string | null;
  ip?: string | null;
  details?: Prisma.InputJsonValue;
}

type Writer = Pick<Prisma.TransactionClient, "auditEvent">;

/** Writes an audit event, inside the caller's transaction when one is given. */
export async function recordAudit(entry: AuditEntry, tx: Writer = db()): Promise<void> {
  await tx.auditEvent.create({
    data: {
      action: entry.action,
      outcome: entry.outcome,
      tenantId: entry.tenantId ?? null,
      actorId: entry.actorId ?? null,
      target: entry.target ?? null,
      ip: entry.ip ?? null,
      ...(entry.details === undefined ? {} : { details: entry.details }),
    },
  });
}
