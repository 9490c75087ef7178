import "server-only";
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { getConfig } from "@/lib/config";
import { db } from "@/lib/db";
import { verifyPassword } from "@/lib/auth/password";
import { resetAttempts } from "@/lib/auth/rate-limit";
import { redirectWithinBase } from "@/lib/auth/callback-url";
import {
  endSessionOfToken,
  freshClaims,
  SESSION_IDLE_SECONDS,
  SessionEndedError,
  sessionCookie,
  userForClaims,
  type SessionClaims,
} from "@/lib/auth/session-token";
import { recordAudit } from "@/lib/audit";
import { decideOidcSignIn, OIDC_PROVIDER_ID, oidcProvider, oidcSessionUser, type OidcProfile } from "@/lib/auth/oidc";
import { componentLogger } from "@/lib/log";
import { signInSchema } from "@/lib/validation";

const log = componentLogger("auth");

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
  const oidc = oidcProvider(config);
  return {
    secret: config.NEXTAUTH_SECRET,
    session: { strategy: "jwt", maxAge: SESSION_IDLE_SECONDS },
    // next-auth derives Secure and the __Secure-/__Host- prefixes from an https NEXTAUTH_URL.
    useSecureCookies: config.NEXTAUTH_URL.startsWith("https://"),
    cookies: { sessionToken: sessionCookie() },
    pages: { signIn: "/signin", error: "/signin" },
    logger: {
      error(code, metadata) {
        // A revoked or expired session is the system working, not a fault.
        const cause = (metadata as { error?: unknown } | undefined)?.error ?? metadata;
        if (code === "JWT_SESSION_ERROR" && cause instanceof SessionEndedError) {
          log.info({ reason: cause.reason }, "session refused");
          return;
        }
        log.error({ code, err: cause }, "next-auth error");
      },
      warn(code) {
        log.warn({ code }, "next-auth warning");
      },
      debug(code, metadata) {
        log.debug({ code, metadata }, "next-auth debug");
      },
    },
    providers: [
      CredentialsProvider({
        name: "Email and password",
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        async authorize(credentials) {
          const parsed = signInSchema.safeParse(credentials ?? {});
          if (!parsed.success) return null;
          const { email, password } = parsed.data;
          const user = await db().user.findUnique({
            where: { email },
            select: { id: true, email: true, name: true, passwordHash: true, sessionVersion: true },
          });
          // Same work and same answer for an unknown email and a wrong password.
          const ok = await verifyPassword(user?.passwordHash ?? null, password);
          if (!user || !ok) {
            await recordAudit({ action: "user.signin", outcome: "failure", actorId: user?.id ?? null, target: email });
            return null;
          }
          await resetAttempts("signInEmail", email);
          await recordAudit({ action: "user.signin", outcome: "success", actorId: user.id, target: email });
          return { id: user.id, email: user.email, name: user.name, sessionVersion: user.sessionVersion };
        },
      }),
      ...(oidc ? [oidc] : []),
    ],
    callbacks: {
      // Credentials decided in authorize(); an OIDC sign-in is decided here, where a refusal can send the browser to a page that says why.
      async signIn({ account, profile }) {
        if (account?.provider !== OIDC_PROVIDER_ID) return true;
        const decision = await decideOidcSignIn(profile as unknown as OidcProfile, config);
        return decision.kind === "allow" ? true : new URL(decision.path, config.NEXTAUTH_URL).toString();
      },
      // Runs at sign-in (with `user`) and on every later read of the session,
      // including next-auth's own /api/auth/session: a token that fails the
      // check throws, which next-auth answers with an empty session and a
      // cleared cookie.
      async jwt({ token, user, account }) {
        if (user && account?.provider === OIDC_PROVIDER_ID) {
          // `user` is the provider's account; the session is for the Pagoda user its identity was decided to be.
          const ours = await oidcSessionUser(account.providerAccountId, config);
          return { ...token, name: ours.name, email: ours.email, picture: undefined, ...(await freshClaims(ours)) };
        }
        if (user) {
          // authorize() above always returns the version.
          const { sessionVersion } = user as unknown as { sessionVersion: number };
          return { ...token, ...(await freshClaims({ id: user.id, sessionVersion })) };
        }
        const current = await userForClaims(token as typeof token & SessionClaims);
        return { ...token, name: current.name, email: current.email };
      },
      session({ session, token }) {
        if (session.user && token.sub) {
          Object.assign(session.user, { id: token.sub, name: token.name, email: token.email });
        }
        return session;
      },
      redirect({ url, baseUrl }) {
        return redirectWithinBase(url, baseUrl);
      },
    },
    events: {
      async signOut({ token }) {
        if (token) await endSessionOfToken(token as SessionClaims);
      },
    },
  };
}
