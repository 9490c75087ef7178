import "server-only";
import { decodeCursor, encodeCursor, NEWEST_FIRST, olderThan } from "@/lib/accounts/audit-log";
import { db, type Prisma } from "@/lib/db";

/**
 * The account events a person sees on their account page. They have no
 * workspace (docs/accounts.md, "Audit log"), so no workspace's log shows
 * them; this is the one place they are read, and only by their own person.
 */
export const ACCOUNT_ACTIONS = [
  "user.signin",
  "user.password_change",
  "user.password_reset",
  "user.signout_everywhere",
  "user.session_end",
  "user.email_change_request",
  "user.email_change",
  "user.email_verify",
  "user.name_change",
  "oidc.linked",
] as const;

/** Rows of one page of the account page's security activity. */
export const SECURITY_ACTIVITY_PAGE = 50;

export interface SecurityEvent {
  id: string;
  createdAt: string;
  action: string;
  outcome: "success" | "failure";
  /** The address the event was about (the one signed in with, the new one of a change). */
  target: string | null;
  ip: string | null;
  details: unknown;
}

export interface SecurityActivity {
  events: SecurityEvent[];
  /** Where the next, older page starts; null on the last page. */
  olderCursor: string | null;
}

/**
 * One page of the person's own account events, newest first, keyset-paged
 * on (createdAt, id) like the audit log. `userId` comes from the session,
 * never from the request: the cursor only says where to start inside that
 * person's events, whoever's event it was made from.
 */
export async function listSecurityActivity(userId: string, options: { cursor?: string; limit?: number } = {}): Promise<SecurityActivity> {
  const after = options.cursor ? decodeCursor(options.cursor) : undefined;
  const limit = Math.min(Math.max(options.limit ?? SECURITY_ACTIVITY_PAGE, 1), SECURITY_ACTIVITY_PAGE);
  const where: Prisma.AuditEventWhereInput = {
    actorId: userId,
    tenantId: null,
    action: { in: [...ACCOUNT_ACTIONS] },
    ...(after ? olderThan(after) : {}),
  };
  const rows = await db().auditEvent.findMany({
    where,
    orderBy: NEWEST_FIRST,
    take: limit + 1,
    select: { id: true, createdAt: true, action: true, outcome: true, target: true, ip: true, details: true },
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    events: page.map((row) => ({
      id: row.id,
      createdAt: row.createdAt.toISOString(),
      action: row.action,
      outcome: row.outcome === "success" ? "success" : "failure",
      target: row.target,
      ip: row.ip,
      details: row.details ?? null,
    })),
    olderCursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
}
