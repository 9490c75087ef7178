import "server-only";
import { cookies } from "next/headers";
import { decode } from "next-auth/jwt";
import { cache } from "react";
import { getConfig } from "@/lib/config";
import { UnauthenticatedError } from "@/lib/errors";
import { SessionEndedError, sessionCookie, userForClaims, type SessionClaims, type SessionUser } from "@/lib/auth/session-token";

export type CurrentUser = SessionUser;

/**
 * The user a raw session cookie value stands for, or null. A tampered or
 * expired token fails decryption; a token that decrypts is then checked
 * against the user row (see userForClaims), so a deleted account, a
 * password change or "sign out everywhere" ends it on its next request.
 * A database failure is not a signed-out visitor: it propagates. Only the
 * unchunked cookie is read: our tokens are far below the 4 KiB at which
 * next-auth would split one, so numbered chunks are never ours.
 */
export async function userForSessionToken(raw: string | undefined): Promise<CurrentUser | null> {
  if (!raw) return null;
  let claims: (SessionClaims & Record<string, unknown>) | null;
  try {
    claims = await decode({ token: raw, secret: getConfig().NEXTAUTH_SECRET });
  } catch {
    return null;
  }
  if (!claims) return null;
  try {
    return await userForClaims(claims);
  } catch (error) {
    if (error instanceof SessionEndedError) return null;
    throw error;
  }
}

/**
 * The signed-in user of this request, or null. Cached per request, so a page
 * whose layout and body both ask reads the user row once.
 */
export const currentUser = cache(async (): Promise<CurrentUser | null> => {
  return userForSessionToken((await cookies()).get(sessionCookie().name)?.value);
});

export async function requireApiUser(): Promise<CurrentUser> {
  const user = await currentUser();
  if (!user) throw new UnauthenticatedError();
  return user;
}
