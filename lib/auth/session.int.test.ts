import { getServerSession } from "next-auth";
import { decode, encode, type JWT } from "next-auth/jwt";
import { describe, expect, it } from "vitest";
import { changePassword, signOutEverywhere } from "@/lib/accounts/account";
import { authOptions } from "@/lib/auth/options";
import { RateLimitedError } from "@/lib/auth/rate-limit";
import { userForSessionToken } from "@/lib/auth/session";
import { issueSessionCookie, SESSION_ABSOLUTE_SECONDS, SESSION_IDLE_SECONDS, sessionCookie } from "@/lib/auth/session-token";
import { db } from "@/lib/db";
import { ForbiddenError, ValidationError } from "@/lib/errors";
import { newAccount, signedInCookie } from "@/tests/support/accounts";

const PASSWORD = "a long and varied passphrase";
const secret = () => process.env.NEXTAUTH_SECRET!;

/** next-auth's own session endpoint (/api/auth/session) read with the cookie, as a browser would. */
async function nextAuthSession(cookie: string): Promise<{ session: unknown; setCookies: string[] }> {
  const setCookies: string[] = [];
  const res = {
    getHeader: () => setCookies,
    setHeader: (_name: string, value: string[]) => setCookies.splice(0, setCookies.length, ...value),
    setCookie: () => undefined,
  };
  const session = await getServerSession({ headers: {}, cookies: { [sessionCookie().name]: cookie } } as never, res as never, authOptions());
  return { session, setCookies };
}

describe("session revocation", () => {
  it("a copied cookie stops working after sign-out everywhere, in our pages and in next-auth's own endpoint", async () => {
    const { userId, email } = await newAccount("everywhere");
    const copied = await signedInCookie(userId);
    expect(await userForSessionToken(copied)).toMatchObject({ id: userId, email });
    expect((await nextAuthSession(copied)).session).toMatchObject({ user: { id: userId } });

    await signOutEverywhere(userId, "192.0.2.1");

    expect(await userForSessionToken(copied)).toBeNull();
    const after = await nextAuthSession(copied);
    expect(after.session).toBeNull();
    // next-auth is told to clear it rather than renew it.
    expect(after.setCookies.join("\n")).toMatch(new RegExp(`${sessionCookie().name}=;`));
    // A sign-in after that works again.
    expect(await userForSessionToken(await signedInCookie(userId))).toMatchObject({ id: userId });
    const audit = await db().auditEvent.findFirst({ where: { actorId: userId, action: "user.signout_everywhere" } });
    expect(audit).toMatchObject({ outcome: "success", target: email });
  });

  it("a password change ends every other session and hands the changer a working token", async () => {
    const { userId } = await newAccount("changer");
    const copied = await signedInCookie(userId);
    const { sessionVersion } = await changePassword(userId, { currentPassword: PASSWORD, newPassword: "another quite different phrase" }, "192.0.2.2");
    expect(await userForSessionToken(copied)).toBeNull();

    const user = await db().user.findUniqueOrThrow({ where: { id: userId } });
    const fresh = await issueSessionCookie({ id: user.id, email: user.email, name: user.name, sessionVersion });
    expect(await userForSessionToken(fresh.value)).toMatchObject({ id: userId });
    expect(fresh.options).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/", maxAge: SESSION_IDLE_SECONDS });
    expect(await db().auditEvent.count({ where: { actorId: userId, action: "user.password_change", outcome: "success" } })).toBe(1);
  });

  it("refuses a wrong current password, changes nothing, and limits the guessing like sign-in", async () => {
    const { userId } = await newAccount("guesser");
    const before = await db().user.findUniqueOrThrow({ where: { id: userId } });
    const attempt = (i: number) =>
      changePassword(userId, { currentPassword: `not it ${i}`, newPassword: "another quite different phrase" }, "192.0.2.3").catch((e: unknown) => e);
    for (let i = 0; i < 10; i += 1) {
      const error = await attempt(i);
      expect(error).toBeInstanceOf(ForbiddenError);
      expect((error as ForbiddenError).code).toBe("wrong_password");
    }
    expect(await attempt(10)).toBeInstanceOf(RateLimitedError);
    // Even the right one is refused until the window passes.
    expect(
      await changePassword(userId, { currentPassword: PASSWORD, newPassword: "another quite different phrase" }, "192.0.2.3").catch((e: unknown) => e),
    ).toBeInstanceOf(RateLimitedError);
    const after = await db().user.findUniqueOrThrow({ where: { id: userId } });
    expect([after.passwordHash, after.sessionVersion]).toEqual([before.passwordHash, before.sessionVersion]);
    expect(await db().auditEvent.count({ where: { actorId: userId, action: "user.password_change", outcome: "failure" } })).toBe(10);
  });

  it("refuses a new password that breaks the sign-up rules, at no cost in attempts", async () => {
    const { userId } = await newAccount("weakling");
    for (const [newPassword, message] of [
      ["short", "Passwords need at least 10 characters."],
      ["password123", "This password is too common. Choose another."],
      [PASSWORD, "Choose a password different from your current one."],
    ] as const) {
      const error = (await changePassword(userId, { currentPassword: PASSWORD, newPassword }, null).catch((e: unknown) => e)) as ValidationError;
      expect(error).toBeInstanceOf(ValidationError);
      expect([error.code, error.fields?.newPassword]).toEqual(["invalid_input", message]);
    }
    expect((await db().user.findUniqueOrThrow({ where: { id: userId } })).sessionVersion).toBe(0);
  });
});

describe("absolute session lifetime", () => {
  async function tokenSignedInAgo(userId: string, seconds: number): Promise<string> {
    const user = await db().user.findUniqueOrThrow({ where: { id: userId } });
    const token: JWT = {
      sub: user.id,
      name: user.name,
      email: user.email,
      sessionVersion: user.sessionVersion,
      signedInAt: Math.floor(Date.now() / 1000) - seconds,
    };
    // A JWT whose own expiry is days away, as one renewed by /api/auth/session every day would be.
    return encode({ token, secret: secret(), maxAge: SESSION_IDLE_SECONDS });
  }

  it("refuses a token signed in more than 30 days ago although its JWT is valid", async () => {
    const { userId } = await newAccount("old");
    const stale = await tokenSignedInAgo(userId, SESSION_ABSOLUTE_SECONDS + 60);
    expect(await userForSessionToken(stale)).toBeNull();
    expect((await nextAuthSession(stale)).session).toBeNull();
    // Just inside the lifetime it works, and next-auth's renewal keeps the sign-in time.
    const young = await tokenSignedInAgo(userId, SESSION_ABSOLUTE_SECONDS - 60);
    expect(await userForSessionToken(young)).toMatchObject({ id: userId });
    const renewed = (await nextAuthSession(young)).setCookies.join("\n").match(new RegExp(`${sessionCookie().name}=([^;]+)`))?.[1];
    expect(renewed).toBeDefined();
    const [before, after] = await Promise.all([decode({ token: young, secret: secret() }), decode({ token: renewed!, secret: secret() })]);
    expect(after?.signedInAt).toBe(before?.signedInAt);
  });

  it("refuses a token without the claims a sign-in stamps, such as one issued before they existed", async () => {
    const { userId } = await newAccount("legacy");
    const legacy = await encode({ token: { sub: userId }, secret: secret(), maxAge: SESSION_IDLE_SECONDS });
    expect(await userForSessionToken(legacy)).toBeNull();
    expect(await userForSessionToken("not a token")).toBeNull();
  });
});
