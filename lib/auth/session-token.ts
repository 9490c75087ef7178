import "server-only";
import { headers } from "next/headers";
import { encode, type JWT } from "next-auth/jwt";
import { clientIp } from "@/lib/auth/rate-limit";
import { getConfig } from "@/lib/config";
import { db } from "@/lib/db";

/** How long a session lasts without use; every request that reads it renews this. */
export const SESSION_IDLE_SECONDS = 7 * 24 * 60 * 60;
/** How long a session lasts at most from sign-in, however busy; nothing renews this. */
export const SESSION_ABSOLUTE_SECONDS = 30 * 24 * 60 * 60;

/** What our session token carries beyond next-auth's own claims. */
export interface SessionClaims {
  sub?: string;
  /** The user's sessionVersion when the token was issued. */
  sessionVersion?: number;
  /** Unix seconds of the sign-in (or password change) that issued the token. */
  signedInAt?: number;
  /**
   * The UserSession row of this sign-in. Absent from tokens issued before
   * sessions were recorded: those keep working on the version check alone
   * until they expire or the version is bumped.
   */
  sid?: string;
}

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  /** Read with the session check anyway, so the dashboard's "confirm your email" banner costs no query once confirmed. */
  emailVerified: boolean;
  /** The UserSession of this request's token; null for a token from before sessions were recorded. */
  sessionId: string | null;
}

/** Where a sign-in came from, as its session list shows it. */
export interface SessionClient {
  ip: string | null;
  userAgent: string | null;
}

/** How stale UserSession.lastSeenAt may get before a request refreshes it. */
export const LAST_SEEN_GRANULARITY_SECONDS = 60;

/** Why a session token stopped working; shown in logs only. */
export class SessionEndedError extends Error {
  constructor(readonly reason: "malformed" | "expired" | "revoked" | "no_user") {
    super(`session ended: ${reason}`);
    this.name = "SessionEndedError";
  }
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * The client of the request being served. Outside a request (scripts,
 * tests that call the sign-in callback directly) there is none to name.
 */
async function requestClient(): Promise<SessionClient> {
  let incoming: Headers;
  try {
    incoming = await headers();
  } catch (error) {
    if (error instanceof Error && /outside a request scope/.test(error.message)) return { ip: null, userAgent: null };
    throw error;
  }
  const ip = clientIp(incoming);
  return { ip: ip === "unknown" ? null : ip.slice(0, 64), userAgent: incoming.get("user-agent")?.slice(0, 512) ?? null };
}

/**
 * Starts a session: records a UserSession row and returns the claims to
 * stamp into its token (who, which session version, when, which row). Every
 * way in (the credentials sign-in, single sign-on, the fresh token after a
 * password change) goes through here, so every session is listed and can be
 * ended on its own. Dead rows of the user (an older version, past either
 * lifetime) are cleared on the way.
 */
export async function freshClaims(user: { id: string; sessionVersion: number }, client?: SessionClient, now = nowSeconds()): Promise<Required<SessionClaims>> {
  const from = client ?? (await requestClient());
  const at = new Date(now * 1000);
  const row = await db().userSession.create({
    data: { userId: user.id, sessionVersion: user.sessionVersion, ip: from.ip, userAgent: from.userAgent, createdAt: at, lastSeenAt: at },
    select: { id: true },
  });
  await db().userSession.deleteMany({
    where: {
      userId: user.id,
      OR: [
        { sessionVersion: { not: user.sessionVersion } },
        { createdAt: { lt: new Date((now - SESSION_ABSOLUTE_SECONDS) * 1000) } },
        { lastSeenAt: { lt: new Date((now - SESSION_IDLE_SECONDS) * 1000) } },
      ],
    },
  });
  return { sub: user.id, sessionVersion: user.sessionVersion, signedInAt: now, sid: row.id };
}

interface ClaimsRow {
  id: string;
  email: string;
  name: string;
  sessionVersion: number;
  emailVerifiedAt: Date | null;
  sid: string | null;
  lastSeenAt: Date | null;
}

/**
 * The user a decoded session token stands for, or SessionEndedError. One
 * query per call, the user row joined with the token's UserSession row: it
 * is what makes a deleted account, a password change, "sign out everywhere"
 * and signing out one session take effect on the very next request, and
 * what refuses a token past its absolute lifetime even though its own
 * expiry (renewed on every use) is still in the future. The session's
 * last-seen time is written only when it is a minute old or more.
 */
export async function userForClaims(token: JWT & SessionClaims, now = nowSeconds()): Promise<SessionUser> {
  const { sub, sessionVersion, signedInAt, sid } = token;
  if (typeof sub !== "string" || typeof sessionVersion !== "number" || typeof signedInAt !== "number") {
    throw new SessionEndedError("malformed");
  }
  if (sid !== undefined && typeof sid !== "string") throw new SessionEndedError("malformed");
  if (now - signedInAt > SESSION_ABSOLUTE_SECONDS) throw new SessionEndedError("expired");
  const [user] = await db().$queryRaw<ClaimsRow[]>`
    SELECT u."id", u."email", u."name", u."sessionVersion", u."emailVerifiedAt", s."id" AS "sid", s."lastSeenAt"
    FROM "User" u
    LEFT JOIN "UserSession" s ON s."id" = ${sid ?? null}::text AND s."userId" = u."id" AND s."sessionVersion" = u."sessionVersion"
    WHERE u."id" = ${sub}`;
  if (!user) throw new SessionEndedError("no_user");
  if (user.sessionVersion !== sessionVersion) throw new SessionEndedError("revoked");
  // A token that names a session whose row is gone was signed out on its own.
  if (sid !== undefined && user.sid === null) throw new SessionEndedError("revoked");
  if (user.sid !== null && user.lastSeenAt !== null && now * 1000 - user.lastSeenAt.getTime() >= LAST_SEEN_GRANULARITY_SECONDS * 1000) {
    await db().userSession.updateMany({
      where: { id: user.sid, lastSeenAt: { lte: new Date((now - LAST_SEEN_GRANULARITY_SECONDS) * 1000) } },
      data: { lastSeenAt: new Date(now * 1000) },
    });
  }
  return { id: user.id, email: user.email, name: user.name, emailVerified: user.emailVerifiedAt !== null, sessionId: user.sid };
}

/**
 * The session cookie, named and flagged as next-auth names it by default.
 * Declared here so that next-auth and our own password-change route write
 * the very same cookie.
 */
export function sessionCookie(): { name: string; options: { httpOnly: true; sameSite: "lax"; path: "/"; secure: boolean } } {
  const secure = getConfig().NEXTAUTH_URL.startsWith("https://");
  return {
    name: `${secure ? "__Secure-" : ""}next-auth.session-token`,
    options: { httpOnly: true, sameSite: "lax", path: "/", secure },
  };
}

/**
 * A new session token for a user who has just proved their password again
 * (a password change), with the same claims a sign-in stamps. Lets the
 * browser that made the change stay signed in while every other one ends.
 */
export async function issueSessionCookie(
  user: Pick<SessionUser, "id" | "email" | "name"> & { sessionVersion: number },
): Promise<{ name: string; value: string; options: ReturnType<typeof sessionCookie>["options"] & { maxAge: number } }> {
  const cookie = sessionCookie();
  const value = await encode({
    token: { name: user.name, email: user.email, ...(await freshClaims(user)) },
    secret: getConfig().NEXTAUTH_SECRET,
    maxAge: SESSION_IDLE_SECONDS,
  });
  return { name: cookie.name, value, options: { ...cookie.options, maxAge: SESSION_IDLE_SECONDS } };
}

/** Signing out in one browser: its session row goes too, so the session list stops showing it. */
export async function endSessionOfToken(token: SessionClaims): Promise<void> {
  if (typeof token.sid !== "string" || typeof token.sub !== "string") return;
  await db().userSession.deleteMany({ where: { id: token.sid, userId: token.sub } });
}
