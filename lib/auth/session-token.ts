import "server-only";
import { encode, type JWT } from "next-auth/jwt";
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
}

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  /** Read with the session check anyway, so the dashboard's "confirm your email" banner costs no query once confirmed. */
  emailVerified: boolean;
}

/** Why a session token stopped working; shown in logs only. */
export class SessionEndedError extends Error {
  constructor(readonly reason: "malformed" | "expired" | "revoked" | "no_user") {
    super(`session ended: ${reason}`);
    this.name = "SessionEndedError";
  }
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The claims stamped at sign-in: who, which session version, and when. */
export function freshClaims(user: { id: string; sessionVersion: number }, now = nowSeconds()): Required<SessionClaims> {
  return { sub: user.id, sessionVersion: user.sessionVersion, signedInAt: now };
}

/**
 * The user a decoded session token stands for, or SessionEndedError. One
 * read of the user row per call: it is what makes a deleted account, a
 * password change and "sign out everywhere" take effect on the very next
 * request, and what refuses a token past its absolute lifetime even though
 * its own expiry (renewed on every use) is still in the future.
 */
export async function userForClaims(token: JWT & SessionClaims, now = nowSeconds()): Promise<SessionUser> {
  const { sub, sessionVersion, signedInAt } = token;
  if (typeof sub !== "string" || typeof sessionVersion !== "number" || typeof signedInAt !== "number") {
    throw new SessionEndedError("malformed");
  }
  if (now - signedInAt > SESSION_ABSOLUTE_SECONDS) throw new SessionEndedError("expired");
  const user = await db().user.findUnique({
    where: { id: sub },
    select: { id: true, email: true, name: true, sessionVersion: true, emailVerifiedAt: true },
  });
  if (!user) throw new SessionEndedError("no_user");
  if (user.sessionVersion !== sessionVersion) throw new SessionEndedError("revoked");
  return { id: user.id, email: user.email, name: user.name, emailVerified: user.emailVerifiedAt !== null };
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
  user: Omit<SessionUser, "emailVerified"> & { sessionVersion: number },
): Promise<{ name: string; value: string; options: ReturnType<typeof sessionCookie>["options"] & { maxAge: number } }> {
  const cookie = sessionCookie();
  const value = await encode({
    token: { name: user.name, email: user.email, ...freshClaims(user) },
    secret: getConfig().NEXTAUTH_SECRET,
    maxAge: SESSION_IDLE_SECONDS,
  });
  return { name: cookie.name, value, options: { ...cookie.options, maxAge: SESSION_IDLE_SECONDS } };
}
