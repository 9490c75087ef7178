/**
 * A mail server that cannot be reached: a closed loopback port stands for it
 * (set before the configuration is first read). Sending fails with a
 * specific error, the account flows go on, and the person is told.
 */
import { findFreePort } from "@/scripts/lib/free-port";

process.env.PAGODA_SMTP_URL = `smtp://127.0.0.1:${await findFreePort()}`;

import { describe, expect, it } from "vitest";
import { requestPasswordReset } from "@/lib/accounts/password-reset";
import { resendVerificationEmail, sendVerificationEmail, verificationBanner } from "@/lib/accounts/email-verification";
import { db } from "@/lib/db";
import { MailUnavailableError } from "@/lib/mail/transport";
import { newAccount } from "@/tests/support/accounts";

describe("when the SMTP server cannot be reached", () => {
  it("sign-up's verification email fails without failing the account, and the banner says so", async () => {
    const { userId } = await newAccount("nomail");
    expect(await sendVerificationEmail(userId, null)).toBe("failed");
    expect(await verificationBanner({ id: userId, emailVerified: false })).toMatchObject({ lastSendFailed: true });
    expect(await db().auditEvent.count({ where: { action: "user.email_verification_send", outcome: "failure", actorId: userId } })).toBe(1);
  });

  it("resending answers 503 mail_unavailable", async () => {
    const { userId } = await newAccount("nomail-resend");
    const error = await resendVerificationEmail(userId, null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailUnavailableError);
    expect((error as MailUnavailableError).code).toBe("mail_unavailable");
  });

  it("a reset request still gets the one answer; the failure is audited and its token stays unsent", async () => {
    const { userId, email } = await newAccount("nomail-reset");
    const { message, delivery } = await requestPasswordReset({ email }, "203.0.113.77");
    expect(message).toContain("If an account uses this address");
    await delivery;
    const token = await db().emailToken.findFirstOrThrow({ where: { userId, purpose: "password_reset" } });
    expect(token.sentAt).toBeNull();
    const audit = await db().auditEvent.findFirstOrThrow({ where: { action: "user.password_reset_request", actorId: userId } });
    expect([audit.outcome, audit.details]).toEqual(["failure", { reason: "mail_unavailable" }]);
  });
});
