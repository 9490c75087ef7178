import { getServerSession } from "next-auth";
import { authOptions } from "@/lib/auth/options";
import { db } from "@/lib/db";
import { ApiError } from "@/lib/http/errors";

export interface CurrentUser {
  id: string;
  email: string;
  name: string;
}

/**
 * The signed-in user, or null. The session cookie only carries the user id;
 * the row is re-read so that a deleted account stops working at once.
 * A tampered or expired cookie fails next-auth's check and reads as null.
 */
export async function currentUser(): Promise<CurrentUser | null> {
  const session = await getServerSession(authOptions());
  const id = (session?.user as { id?: string } | undefined)?.id;
  if (!id) return null;
  return db().user.findUnique({ where: { id }, select: { id: true, email: true, name: true } });
}

export async function requireApiUser(): Promise<CurrentUser> {
  const user = await currentUser();
  if (!user) throw new ApiError(401, "unauthenticated", "You are not signed in, or your session has expired. Sign in again.");
  return user;
}
