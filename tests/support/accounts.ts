import { randomUUID } from "node:crypto";
import { encode } from "next-auth/jwt";
import { signUp } from "@/lib/accounts/signup";
import { authOptions } from "@/lib/auth/options";
import { SESSION_IDLE_SECONDS } from "@/lib/auth/session-token";
import { db } from "@/lib/db";
import { actorFor, type TenantActor } from "@/lib/tenancy/access";

/** A fresh user with their own workspace, through the real sign-up path. */
export async function newAccount(label = "user"): Promise<{ email: string; userId: string; actor: TenantActor }> {
  const email = `${label}-${randomUUID().slice(0, 8)}@example.com`;
  const { userId, tenantSlug } = await signUp({ name: label, email, password: "a long and varied passphrase" }, "127.0.0.1");
  return { email, userId, actor: await actorFor(userId, tenantSlug) };
}

/** The cookie value a sign-in writes, made by next-auth's own jwt callback and encoder. */
export async function signedInCookie(userId: string): Promise<string> {
  const user = await db().user.findUniqueOrThrow({ where: { id: userId } });
  const jwt = authOptions().callbacks!.jwt!;
  const token = await jwt({
    token: { name: user.name, email: user.email, sub: user.id },
    user: { id: user.id, email: user.email, name: user.name, sessionVersion: user.sessionVersion } as never,
    account: null,
    trigger: "signIn",
  });
  return encode({ token, secret: process.env.NEXTAUTH_SECRET!, maxAge: SESSION_IDLE_SECONDS });
}
