/**
 * Email verification against the real database and the run's real Mailpit:
 * the link sign-up sends, what following it does, and its refusals.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { NextRequest } from "next/server";
import { describe, expect, it, inject } from "vitest";
import { resendVerificationEmail, sendVerificationEmail, verificationBanner, verifyEmail } from "@/lib/accounts/email-verification";
import { EmailLinkError } from "@/lib/accounts/email-tokens";
import { RateLimitedError } from "@/lib/auth/rate-limit";
import { db } from "@/lib/db";
import { ValidationError } from "@/lib/errors";
import { newAccount } from "@/tests/support/accounts";
import { linkIn, messagesTo, rawMessage, waitForMessage } from "@/tests/support/mailpit";
import * as signupRoute from "@/app/api/signup/route";

const mailpit = inject("mailpitUrl");

function csrfHeaders(): Record<string, string> {
  const token = randomBytes(32).toString("hex");
  const hash = createHash("sha256").update(`${token}${process.env.NEXTAUTH_SECRET!}`).digest("hex");
  return { cookie: `next-auth.csrf-token=${encodeURIComponent(`${token}|${hash}`)}`, "x-csrf-token": token, "content-type": "application/json" };
}

async function signUpThroughRoute(name: string): Promise<string> {
  const email = `verify-${randomUUID().slice(0, 8)}@example.com`;
  const response = await signupRoute.POST(
    new NextRequest("http://localhost:3000/api/signup", {
      method: "POST",
      headers: { ...csrfHeaders(), "x-forwarded-for": `198.51.100.${Math.floor(Math.random() * 250) + 1}` },
      body: JSON.stringify({ name, email, password: "a long and varied passphrase" }),
    }),
  );
  expect(response.status).toBe(201);
  return email;
}

const tokenOf = (url: string) => new URL(url).searchParams.get("token")!;

describe("email verification", () => {
  it("sign-up mails a link whose use marks the address verified, once", async () => {
    const email = await signUpThroughRoute("Vera");
    const user = await db().user.findUniqueOrThrow({ where: { email } });
    expect(user.emailVerifiedAt).toBeNull();
    expect(await verificationBanner({ id: user.id, emailVerified: false })).toEqual({ email, lastSendFailed: false });

    const message = await waitForMessage(mailpit, email);
    expect(message.Subject).toBe("Confirm your email address for Pagoda");
    expect(message.To).toEqual([{ Name: "Vera", Address: email }]);
    const token = tokenOf(linkIn(message, "/verify-email"));
    const stored = await db().emailToken.findFirstOrThrow({ where: { userId: user.id, purpose: "verify_email" } });
    expect(stored.tokenHash).toBe(createHash("sha256").update(token).digest("hex"));

    expect(await verifyEmail({ token }, null)).toEqual({ email });
    const after = await db().user.findUniqueOrThrow({ where: { id: user.id } });
    expect(after.emailVerifiedAt).not.toBeNull();
    expect(await verificationBanner({ id: user.id, emailVerified: true })).toBeNull();
    expect(await db().auditEvent.count({ where: { action: "user.email_verify", outcome: "success", actorId: user.id } })).toBe(1);

    const again = await verifyEmail({ token }, null).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(EmailLinkError);
    expect((again as EmailLinkError).code).toBe("link_used");
  });

  it("refuses an expired link and a reset link used to verify", async () => {
    const { userId, email } = await newAccount("late");
    expect(await sendVerificationEmail(userId, null)).toBe("sent");
    const token = tokenOf(linkIn(await waitForMessage(mailpit, email), "/verify-email"));
    await db().emailToken.updateMany({ where: { userId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await verifyEmail({ token }, null).catch((e: unknown) => (e as EmailLinkError).code)).toBe("link_expired");

    const reset = await db().emailToken.create({
      data: {
        userId,
        email,
        purpose: "password_reset",
        tokenHash: createHash("sha256").update("x".repeat(43)).digest("hex"),
        expiresAt: new Date(Date.now() + 60_000),
      },
    });
    expect(await verifyEmail({ token: "x".repeat(43) }, null).catch((e: unknown) => (e as EmailLinkError).code)).toBe("link_invalid");
    expect((await db().emailToken.findUniqueOrThrow({ where: { id: reset.id } })).usedAt).toBeNull();
    expect((await db().user.findUniqueOrThrow({ where: { id: userId } })).emailVerifiedAt).toBeNull();
  });

  it("limits resending per account, and refuses it once verified", async () => {
    const { userId, email } = await newAccount("resend");
    for (let i = 0; i < 5; i += 1) await resendVerificationEmail(userId, null);
    expect(await resendVerificationEmail(userId, null).catch((e: unknown) => e)).toBeInstanceOf(RateLimitedError);
    expect(await messagesTo(mailpit, email)).toHaveLength(5);

    const { userId: other, email: otherEmail } = await newAccount("verified");
    await resendVerificationEmail(other, null);
    await verifyEmail({ token: tokenOf(linkIn(await waitForMessage(mailpit, otherEmail), "/verify-email")) }, null);
    const refused = await resendVerificationEmail(other, null).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).code).toBe("already_verified");
  });

  it("puts a hostile name into the To header as a display name only: no header of its own, no second recipient", async () => {
    const { userId, email } = await newAccount("hostile");
    const victim = `v-${randomUUID().slice(0, 8)}@example.com`;
    // Sign-up refuses control characters in names; a row written some other way must still be safe.
    await db().user.update({ where: { id: userId }, data: { name: `Eve\r\nBcc: ${victim}\r\nSubject: pwned` } });
    expect(await sendVerificationEmail(userId, null)).toBe("sent");
    const message = await waitForMessage(mailpit, email);
    expect(message.To).toHaveLength(1);
    expect(message.Subject).toBe("Confirm your email address for Pagoda");
    const headers = (await rawMessage(mailpit, message.ID)).split("\r\n\r\n")[0]!;
    expect(headers).not.toMatch(/^Bcc:/im);
    expect(headers.match(/^Subject:/gim)).toHaveLength(1);
    expect(await messagesTo(mailpit, victim)).toHaveLength(0);
  });
});
