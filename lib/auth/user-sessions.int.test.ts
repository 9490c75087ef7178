import { getServerSession } from "next-auth";
import { decode, encode } from "next-auth/jwt";
import { describe, expect, it } from "vitest";
import { signOutEverywhere } from "@/lib/accounts/account";
import { authOptions } from "@/lib/auth/options";
import { userForSessionToken } from "@/lib/auth/session";
import { freshClaims, LAST_SEEN_GRANULARITY_SECONDS, nowSeconds, SESSION_IDLE_SECONDS, sessionCookie, userForClaims } from "@/lib/auth/session-token";
import { endSession, listSessions } from "@/lib/auth/user-sessions";
import { db } from "@/lib/db";
import { NotFoundError } from "@/lib/errors";
import { newAccount } from "@/tests/support/accounts";

const secret = () => process.env.NEXTAUTH_SECRET!;

/** A session cookie as a sign-in from this client writes it: the claims freshClaims stamps, in next-auth's encoding. */
async function signIn(userId: string, client = { ip: "198.51.100.7", userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0" }) {
  const user = await db().user.findUniqueOrThrow({ where: { id: userId } });
  const claims = await freshClaims(user, client);
  return {
    sid: claims.sid,
    cookie: await encode({ token: { name: user.name, email: user.email, ...claims }, secret: secret(), maxAge: SESSION_IDLE_SECONDS }),
  };
}

/** The sign-in next-auth itself runs: its jwt callback with the user authorize() returned. */
async function nextAuthSignIn(userId: string): Promise<string> {
  const user = await db().user.findUniqueOrThrow({ where: { id: userId } });
  const token = await authOptions().callbacks!.jwt!({
    token: { name: user.name, email: user.email, sub: user.id },
    user: { id: user.id, email: user.email, name: user.name, sessionVersion: user.sessionVersion } as never,
    account: null,
    trigger: "signIn",
  });
  return encode({ token, secret: secret(), maxAge: SESSION_IDLE_SECONDS });
}

async function nextAuthSession(cookie: string): Promise<unknown> {
  const res = { getHeader: () => [], setHeader: () => undefined, setCookie: () => undefined };
  return getServerSession({ headers: {}, cookies: { [sessionCookie().name]: cookie } } as never, res as never, authOptions());
}

describe("active sessions", () => {
  it("a sign-in through next-auth records a session whose id the token carries", async () => {
    const { userId } = await newAccount("sid");
    const cookie = await nextAuthSignIn(userId);
    const claims = await decode({ token: cookie, secret: secret() });
    expect(typeof claims?.sid).toBe("string");
    const row = await db().userSession.findUniqueOrThrow({ where: { id: claims!.sid as string } });
    expect(row).toMatchObject({ userId, sessionVersion: 0 });
    expect(await userForSessionToken(cookie)).toMatchObject({ id: userId, sessionId: row.id });
  });

  it("lists where the person is signed in, marks this session, and ending the other one refuses its next request", async () => {
    const { userId } = await newAccount("two-browsers");
    const here = await signIn(userId, { ip: "198.51.100.1", userAgent: "Mozilla/5.0 Chrome/141.0" });
    const there = await signIn(userId, { ip: "203.0.113.9", userAgent: "Mozilla/5.0 Firefox/140.0" });
    const listed = await listSessions(userId, here.sid);
    expect(listed.map((s) => [s.id, s.ip, s.userAgent, s.current]).sort()).toEqual(
      [
        [here.sid, "198.51.100.1", "Mozilla/5.0 Chrome/141.0", true],
        [there.sid, "203.0.113.9", "Mozilla/5.0 Firefox/140.0", false],
      ].sort(),
    );

    await endSession(userId, there.sid, "198.51.100.1");

    expect(await userForSessionToken(there.cookie)).toBeNull();
    expect(await nextAuthSession(there.cookie)).toBeNull();
    expect(await userForSessionToken(here.cookie)).toMatchObject({ id: userId, sessionId: here.sid });
    expect((await listSessions(userId, here.sid)).map((s) => s.id)).toEqual([here.sid]);
    expect(await db().auditEvent.findFirst({ where: { actorId: userId, action: "user.session_end" } })).toMatchObject({
      outcome: "success",
      details: { sessionId: there.sid },
    });
  });

  it("cannot end another account's session: the same 404 as one that does not exist, and that session goes on", async () => {
    const alice = await newAccount("alice-sessions");
    const bob = await newAccount("bob-sessions");
    const bobs = await signIn(bob.userId);
    const error = await endSession(alice.userId, bobs.sid, null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe("session_not_found");
    expect(await userForSessionToken(bobs.cookie)).toMatchObject({ id: bob.userId });
    expect(await listSessions(alice.userId, null)).toEqual([]);
  });

  it("keeps a token from before sessions were recorded working, until sign-out everywhere ends it with the rest", async () => {
    const { userId } = await newAccount("legacy-sid");
    const user = await db().user.findUniqueOrThrow({ where: { id: userId } });
    const legacy = await encode({
      token: { sub: userId, name: user.name, email: user.email, sessionVersion: 0, signedInAt: nowSeconds() },
      secret: secret(),
      maxAge: SESSION_IDLE_SECONDS,
    });
    const recorded = await signIn(userId);
    expect(await userForSessionToken(legacy)).toMatchObject({ id: userId, sessionId: null });

    await signOutEverywhere(userId, null);

    expect(await userForSessionToken(legacy)).toBeNull();
    expect(await userForSessionToken(recorded.cookie)).toBeNull();
    expect(await db().userSession.count({ where: { userId } })).toBe(0);
  });

  it("does not list a session another version has ended, and a new sign-in clears such rows", async () => {
    const { userId } = await newAccount("stale-rows");
    const old = await signIn(userId);
    // What a password reset does: only the version moves.
    await db().user.update({ where: { id: userId }, data: { sessionVersion: { increment: 1 } } });
    expect(await listSessions(userId, null)).toEqual([]);
    expect(await userForSessionToken(old.cookie)).toBeNull();
    const fresh = await signIn(userId);
    expect((await db().userSession.findMany({ where: { userId }, select: { id: true } })).map((r) => r.id)).toEqual([fresh.sid]);
  });

  it("writes last-seen at most once a minute", async () => {
    const { userId } = await newAccount("last-seen");
    const { sid, cookie } = await signIn(userId);
    const claims = (await decode({ token: cookie, secret: secret() }))!;
    const start = (await db().userSession.findUniqueOrThrow({ where: { id: sid } })).lastSeenAt.getTime();
    const at = Math.floor(start / 1000);
    await userForClaims(claims, at + LAST_SEEN_GRANULARITY_SECONDS - 1);
    expect((await db().userSession.findUniqueOrThrow({ where: { id: sid } })).lastSeenAt.getTime()).toBe(start);
    await userForClaims(claims, at + LAST_SEEN_GRANULARITY_SECONDS + 1);
    expect((await db().userSession.findUniqueOrThrow({ where: { id: sid } })).lastSeenAt.getTime()).toBe((at + LAST_SEEN_GRANULARITY_SECONDS + 1) * 1000);
  });

  it("signing out in next-auth removes that session's row", async () => {
    const { userId } = await newAccount("signout-row");
    const cookie = await nextAuthSignIn(userId);
    const claims = (await decode({ token: cookie, secret: secret() }))!;
    await authOptions().events!.signOut!({ token: claims, session: null as never });
    expect(await db().userSession.findUnique({ where: { id: claims.sid as string } })).toBeNull();
    expect(await userForSessionToken(cookie)).toBeNull();
  });
});
