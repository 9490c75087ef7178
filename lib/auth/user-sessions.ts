import "server-only";
import type { UserSessionView } from "@/lib/api/account-schemas";
import { recordAudit } from "@/lib/audit";
import { nowSeconds, SESSION_ABSOLUTE_SECONDS, SESSION_IDLE_SECONDS } from "@/lib/auth/session-token";
import { db } from "@/lib/db";
import { NotFoundError } from "@/lib/errors";

/**
 * The sessions a person is signed in with: rows of the current session
 * version within both lifetimes, so what the list shows is exactly what
 * would still be let in. `currentId` marks the session of the request.
 */
export async function listSessions(userId: string, currentId: string | null, now = nowSeconds()): Promise<UserSessionView[]> {
  const rows = await db().userSession.findMany({
    where: {
      userId,
      createdAt: { gte: new Date((now - SESSION_ABSOLUTE_SECONDS) * 1000) },
      lastSeenAt: { gte: new Date((now - SESSION_IDLE_SECONDS) * 1000) },
    },
    orderBy: [{ lastSeenAt: "desc" }, { createdAt: "desc" }],
    select: { id: true, createdAt: true, lastSeenAt: true, userAgent: true, ip: true, sessionVersion: true, user: { select: { sessionVersion: true } } },
    take: 200,
  });
  return rows
    .filter((row) => row.sessionVersion === row.user.sessionVersion)
    .map((row) => ({
      id: row.id,
      createdAt: row.createdAt.toISOString(),
      lastSeenAt: row.lastSeenAt.toISOString(),
      userAgent: row.userAgent,
      ip: row.ip,
      current: row.id === currentId,
    }));
}

/** The one answer for a session that is not the person's to end: ended, never there, another account's, or no possible id at all. */
export const noSuchSession = () => new NotFoundError("There is no such session of your account: it may have ended already.", "session_not_found");

/**
 * Ends one session of the person: its row goes, and its token is refused
 * on its next request. A session of another account is answered exactly
 * like one that does not exist.
 */
export async function endSession(userId: string, sessionId: string, ip: string | null): Promise<void> {
  await db().$transaction(async (tx) => {
    const ended = await tx.userSession.deleteMany({ where: { id: sessionId, userId } });
    if (ended.count !== 1) throw noSuchSession();
    const user = await tx.user.findUniqueOrThrow({ where: { id: userId }, select: { email: true } });
    await recordAudit({ action: "user.session_end", outcome: "success", actorId: userId, target: user.email, ip, details: { sessionId } }, tx);
  });
}
