import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { getConfig } from "@/lib/config";
import { db } from "@/lib/db";
import { verifyPassword } from "@/lib/auth/password";
import { resetAttempts } from "@/lib/auth/rate-limit";
import { recordAudit } from "@/lib/audit";
import { signInSchema } from "@/lib/validation";

const SESSION_DAYS = 7;

/**
 * next-auth configuration. Built on demand rather than at import so that
 * `next build` does not need the runtime secrets.
 *
 * Rate limiting of sign-in happens before this code runs (see the route
 * handler), so that an exhausted limit can answer 429 rather than the 401
 * next-auth gives every failed credential check.
 */
export function authOptions(): NextAuthOptions {
  const config = getConfig();
  return {
    secret: config.NEXTAUTH_SECRET,
    session: { strategy: "jwt", maxAge: SESSION_DAYS * 24 * 60 * 60 },
    // next-auth derives Secure and the __Secure-/__Host- prefixes from an https NEXTAUTH_URL.
    useSecureCookies: config.NEXTAUTH_URL.startsWith("https://"),
    pages: { signIn: "/signin", error: "/signin" },
    providers: [
      CredentialsProvider({
        name: "Email and password",
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        async authorize(credentials) {
          const parsed = signInSchema.safeParse(credentials ?? {});
          if (!parsed.success) return null;
          const { email, password } = parsed.data;
          const user = await db().user.findUnique({ where: { email }, select: { id: true, email: true, name: true, passwordHash: true } });
          // Same work and same answer for an unknown email and a wrong password.
          const ok = await verifyPassword(user?.passwordHash ?? null, password);
          if (!user || !ok) {
            await recordAudit({ action: "user.signin", outcome: "failure", actorId: user?.id ?? null, target: email });
            return null;
          }
          await resetAttempts("signInEmail", email);
          await recordAudit({ action: "user.signin", outcome: "success", actorId: user.id, target: email });
          return { id: user.id, email: user.email, name: user.name };
        },
      }),
    ],
    callbacks: {
      jwt({ token, user }) {
        if (user) token.sub = user.id;
        return token;
      },
      session({ session, token }) {
        if (session.user && token.sub) (session.user as { id?: string }).id = token.sub;
        return session;
      },
    },
  };
}
