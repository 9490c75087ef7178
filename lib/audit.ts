import "server-only";
import type { Prisma } from "@/lib/generated/prisma/client";
import { db } from "@/lib/db";
import { componentLogger } from "@/lib/log";
import { storableJson, storableText, storableTextOrNull } from "@/lib/storable";

const log = componentLogger("audit");

/** Column widths of AuditEvent (prisma/schema.prisma); values are cut to fit, never refused. */
export const AUDIT_LIMITS = { action: 64, target: 320, outcome: 16, ip: 64 } as const;

export interface AuditEntry {
  action: string;
  outcome: "success" | "failure";
  tenantId?: string | null;
  actorId?: string | null;
  /** What was acted on: a site name, an email. May come straight from a request. */
  target?: string | null;
  ip?: string | null;
  /** Anything JSON; strings in it may be hostile (zip entry names, messages). */
  details?: unknown;
}

type Writer = Pick<Prisma.TransactionClient, "auditEvent">;

function rowOf(entry: AuditEntry): Prisma.AuditEventCreateInput {
  const details = entry.details === undefined ? null : storableJson(entry.details);
  return {
    action: storableText(entry.action, AUDIT_LIMITS.action),
    outcome: storableText(entry.outcome, AUDIT_LIMITS.outcome),
    tenantId: entry.tenantId ?? null,
    actorId: entry.actorId ?? null,
    target: storableTextOrNull(entry.target, AUDIT_LIMITS.target),
    ip: storableTextOrNull(entry.ip, AUDIT_LIMITS.ip),
    ...(details === null ? {} : { details }),
  };
}

/**
 * Writes an audit event. Every string is made storable first, so what a
 * person sent can never make the write fail.
 *
 * Inside the caller's transaction (`tx`), a failure is rethrown: Postgres
 * has aborted the transaction by then, and the action and its record stand
 * or fall together. On its own, a failure is logged with the event's
 * context and swallowed: the record of an answer must never replace the
 * answer itself. Returns whether the event was written.
 */
export async function recordAudit(entry: AuditEntry, tx?: Writer): Promise<boolean> {
  const data = rowOf(entry);
  if (tx) {
    await tx.auditEvent.create({ data });
    return true;
  }
  try {
    await db().auditEvent.create({ data });
    return true;
  } catch (error) {
    log.error(
      { err: error, action: data.action, outcome: data.outcome, tenantId: data.tenantId, actorId: data.actorId, target: data.target },
      "could not write an audit event",
    );
    return false;
  }
}

/** The parts of an actor an audit event names (structural, so lib/audit.ts needs no domain import). */
interface AuditedActor {
  userId: string | null;
  token?: { id: string; name: string };
}

/**
 * `actorId` and `details` of an event done by `actor`. An API token has no
 * person behind the request, so its id and name go into the details: the
 * record says which token did it even after the token is deleted.
 */
export function actorAudit(actor: AuditedActor, details: Record<string, unknown> = {}): { actorId: string | null; details: Record<string, unknown> } {
  return {
    actorId: actor.userId,
    details: actor.token ? { ...details, tokenId: actor.token.id, tokenName: actor.token.name } : details,
  };
}
