/**
 * The password-reset link's whole life against the real database and the
 * run's real Mailpit: what arrives, what is stored, and every way a link or
 * a request is refused.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { NextRequest } from "next/server";
import { describe, expect, it, inject } from "vitest";
import { ZodError } from "zod";
import { completePasswordReset, requestPasswordReset } from "@/lib/accounts/password-reset";
import { EmailLinkError } from "@/lib/accounts/email-tokens";
import { verifyPassword } from "@/lib/auth/password";
import { RateLimitedError } from "@/lib/auth/rate-limit";
import { userForSessionToken } from "@/lib/auth/session";
import { issueSessionCookie } from "@/lib/auth/session-token";
import { db } from "@/lib/db";
import { ValidationError } from "@/lib/errors";
import { newAccount } from "@/tests/support/accounts";
import { linkIn, messagesTo, waitForMessage } from "@/tests/support/mailpit";
import * as requestRoute from "@/app/api/account/password-reset/route";
import * as completeRoute from "@/app/api/account/password-reset/complete/route";

const mailpit = inject("mailpitUrl");
const OLD_PASSWORD = "a long and varied passphrase";
const NEW_PASSWORD = "an entirely different sentence 42";
/** Every test its own client address, so the per-IP limit only counts what that test does. */
const ip = () => `192.0.2.${Math.floor(Math.random() * 250) + 1}-${randomUUID().slice(0, 6)}`;

/** Asks for a reset, waits for the email to be handed over, and returns the link's token. */
async function resetToken(email: string, from = ip()): Promise<string> {
  const before = (await messagesTo(mailpit, email)).length;
  const { delivery } = await requestPasswordReset({ email }, from);
  await delivery;
  const message = await waitForMessage(mailpit, email, { count: before + 1 });
  return new URL(linkIn(message, "/reset-password")).searchParams.get("token")!;
}

function csrfHeaders(): Record<string, string> {
  const token = randomBytes(32).toString("hex");
  const hash = createHash("sha256").update(`${token}${process.env.NEXTAUTH_SECRET!}`).digest("hex");
  return { cookie: `next-auth.csrf-token=${encodeURIComponent(`${token}|${hash}`)}`, "x-csrf-token": token, "content-type": "application/json" };
}

async function post(handler: (request: NextRequest) => Promise<Response>, path: string, body: unknown, from: string) {
  const response = await handler(
    new NextRequest(`http://localhost:3000${path}`, { method: "POST", headers: { ...csrfHeaders(), "x-forwarded-for": from }, body: JSON.stringify(body) }),
  );
  return { status: response.status, body: (await response.json()) as unknown };
}

async function problemOf(work: Promise<unknown>): Promise<string> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EmailLinkError);
  return (error as EmailLinkError).code;
}

describe("password reset: asking for a link", () => {
  it("answers a known and an unknown address with the same status and body", async () => {
    const { email } = await newAccount("known");
    const from = ip();
    const known = await post(requestRoute.POST, "/api/account/password-reset", { email }, from);
    const unknown = await post(requestRoute.POST, "/api/account/password-reset", { email: `nobody-${randomUUID()}@example.com` }, from);
    expect(known.status).toBe(202);
    expect(unknown).toEqual(known);
  });

  it("mails the known address a link and the unknown one nothing", async () => {
    const { email } = await newAccount("mailed");
    const stranger = `stranger-${randomUUID()}@example.com`;
    const from = ip();
    await (
      await requestPasswordReset({ email: stranger }, from)
    ).delivery;
    await (
      await requestPasswordReset({ email }, from)
    ).delivery;
    const message = await waitForMessage(mailpit, email);
    expect(message.Subject).toBe("Reset your Pagoda password");
    expect(message.HTML).toContain("/reset-password?token=");
    expect(linkIn(message, "/reset-password")).toMatch(/^http:\/\/localhost:3000\/reset-password\?token=[A-Za-z0-9_-]{43}$/);
    expect(await messagesTo(mailpit, stranger)).toHaveLength(0);
    const audits = await db().auditEvent.findMany({
      where: { action: "user.password_reset_request", target: { in: [email, stranger] } },
      orderBy: { createdAt: "asc" },
    });
    expect(audits.map((a) => [a.target, a.outcome])).toEqual([
      [stranger, "failure"],
      [email, "success"],
    ]);
  });

  it("stores only the SHA-256 of the link's secret", async () => {
    const { email, userId } = await newAccount("hashed");
    const token = await resetToken(email);
    const rows = await db().emailToken.findMany({ where: { userId, purpose: "password_reset" } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.tokenHash).toBe(createHash("sha256").update(token).digest("hex"));
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows[0]!.sentAt).not.toBeNull();
    expect(rows[0]!.expiresAt.getTime() - rows[0]!.createdAt.getTime()).toBe(30 * 60 * 1000);
  });

  it("limits requests per address, known or not, with the same refusal", async () => {
    const { email } = await newAccount("limited");
    const stranger = `limited-${randomUUID()}@example.com`;
    for (const address of [email, stranger]) {
      for (let i = 0; i < 3; i += 1) await (await requestPasswordReset({ email: address }, ip())).delivery;
      const refused = await requestPasswordReset({ email: address }, ip()).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RateLimitedError);
    }
    expect(await messagesTo(mailpit, email)).toHaveLength(3);
  });

  it("limits requests per IP address across addresses", async () => {
    const from = ip();
    for (let i = 0; i < 10; i += 1) await (await requestPasswordReset({ email: `ip-${i}-${randomUUID()}@example.com` }, from)).delivery;
    const refused = await post(requestRoute.POST, "/api/account/password-reset", { email: `ip-last-${randomUUID()}@example.com` }, from);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: { code: "rate_limited" } });
  });

  it("refuses a malformed address with 400 and sends nothing", async () => {
    const answer = await post(requestRoute.POST, "/api/account/password-reset", { email: "not an address" }, ip());
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: "invalid_input", fields: { email: expect.any(String) } } });
  });
});

describe("password reset: following the link", () => {
  it("sets the new password, ends every other session, spends the link, and is audited", async () => {
    const { email, userId } = await newAccount("resets");
    const user = await db().user.findUniqueOrThrow({ where: { id: userId } });
    const elsewhere = await issueSessionCookie(user);
    expect(await userForSessionToken(elsewhere.value)).toMatchObject({ id: userId });
    const token = await resetToken(email);

    const answer = await post(completeRoute.POST, "/api/account/password-reset/complete", { token, password: NEW_PASSWORD }, ip());
    expect(answer).toEqual({ status: 200, body: { reset: true } });

    const after = await db().user.findUniqueOrThrow({ where: { id: userId } });
    expect(await verifyPassword(after.passwordHash, OLD_PASSWORD)).toBe(false);
    expect(await verifyPassword(after.passwordHash, NEW_PASSWORD)).toBe(true);
    expect(after.sessionVersion).toBe(user.sessionVersion + 1);
    expect(await userForSessionToken(elsewhere.value)).toBeNull();
    // Following the link proved the address too.
    expect(after.emailVerifiedAt).not.toBeNull();
    expect(await db().auditEvent.count({ where: { action: "user.password_reset", outcome: "success", actorId: userId } })).toBe(1);
  });

  it("refuses the same link a second time, with a message that says so", async () => {
    const { email } = await newAccount("reused");
    const token = await resetToken(email);
    await completePasswordReset({ token, password: NEW_PASSWORD }, null);
    expect(await problemOf(completePasswordReset({ token, password: "yet another good passphrase" }, null))).toBe("link_used");
    const answer = await post(completeRoute.POST, "/api/account/password-reset/complete", { token, password: "yet another good passphrase" }, ip());
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: "link_used", message: expect.stringContaining("already been used") } });
  });

  it("lets exactly one of two simultaneous uses of a link through", async () => {
    const { email } = await newAccount("raced");
    const token = await resetToken(email);
    const results = await Promise.allSettled([
      completePasswordReset({ token, password: NEW_PASSWORD }, null),
      completePasswordReset({ token, password: "yet another good passphrase" }, null),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  it("refuses an expired link", async () => {
    const { email, userId } = await newAccount("expired");
    const token = await resetToken(email);
    await db().emailToken.updateMany({ where: { userId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await problemOf(completePasswordReset({ token, password: NEW_PASSWORD }, null))).toBe("link_expired");
    const after = await db().user.findUniqueOrThrow({ where: { id: userId } });
    expect(await verifyPassword(after.passwordHash, OLD_PASSWORD)).toBe(true);
  });

  it.each([
    ["one character changed", (token: string) => `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`],
    ["cut short", (token: string) => token.slice(0, 20)],
    ["not a token at all", () => "../../etc/passwd"],
    ["absent", () => undefined],
  ])("refuses a link %s as invalid, and changes nothing", async (_, tamper) => {
    const { email, userId } = await newAccount("tampered");
    const token = await resetToken(email);
    const code = await completePasswordReset({ token: tamper(token), password: NEW_PASSWORD }, null).then(
      () => "accepted",
      (e: unknown) => (e instanceof ZodError ? "invalid_input" : ((e as { code?: string }).code ?? "thrown")),
    );
    expect(["link_invalid", "invalid_input"]).toContain(code);
    const after = await db().user.findUniqueOrThrow({ where: { id: userId } });
    expect(await verifyPassword(after.passwordHash, OLD_PASSWORD)).toBe(true);
    // The genuine link still works.
    await completePasswordReset({ token, password: NEW_PASSWORD }, null);
  });

  it("refuses a weak new password and leaves the link usable", async () => {
    const { email, userId } = await newAccount("weak");
    const token = await resetToken(email);
    const error = await completePasswordReset({ token, password: "short" }, null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).fields).toHaveProperty("password");
    expect((await db().emailToken.findFirstOrThrow({ where: { userId } })).usedAt).toBeNull();
    await completePasswordReset({ token, password: NEW_PASSWORD }, null);
  });

  it("spends every earlier link of the account with the one used", async () => {
    const { email } = await newAccount("earlier");
    const first = await resetToken(email);
    const second = await resetToken(email);
    await completePasswordReset({ token: second, password: NEW_PASSWORD }, null);
    expect(await problemOf(completePasswordReset({ token: first, password: "yet another good passphrase" }, null))).toBe("link_used");
  });

  it("refuses a link once the account's address has changed", async () => {
    const { email, userId } = await newAccount("moved");
    const token = await resetToken(email);
    await db().user.update({ where: { id: userId }, data: { email: `moved-${randomUUID()}@example.com` } });
    expect(await problemOf(completePasswordReset({ token, password: NEW_PASSWORD }, null))).toBe("link_invalid");
  });
});
