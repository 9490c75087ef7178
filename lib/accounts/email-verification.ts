import "server-only";
import { emailVerificationBodySchema } from "@/lib/api/schemas";
import { db } from "@/lib/db";
import { consumeAttempt } from "@/lib/auth/rate-limit";
import { recordAudit } from "@/lib/audit";
import { getConfig } from "@/lib/config";
import { UnauthenticatedError, ValidationError } from "@/lib/errors";
import { verificationMessage } from "@/lib/mail/messages";
import { MailDisabledError, MailUnavailableError, mailEnabled, sendMail } from "@/lib/mail/transport";
import { EMAIL_TOKEN_LIFETIME_SECONDS, emailLink, issueEmailToken, markEmailTokenSent, spendEmailToken } from "@/lib/accounts/email-tokens";

export type VerificationSend = "sent" | "failed" | "disabled";

/**
 * Sends a new confirmation link to the account's address. Never throws for
 * the mail itself: the outcome is returned (and a failure logged by the
 * sender and audited), because at sign-up the account exists either way and
 * the dashboard's banner says what happened.
 */
export async function sendVerificationEmail(userId: string, ip: string | null): Promise<VerificationSend> {
  if (!mailEnabled()) return "disabled";
  const user = await db().user.findUnique({ where: { id: userId }, select: { id: true, email: true, name: true, emailVerifiedAt: true } });
  if (!user) throw new UnauthenticatedError();
  if (user.emailVerifiedAt) return "sent";
  const token = await issueEmailToken(user.id, user.email, "verify_email");
  const url = emailLink(getConfig().NEXTAUTH_URL, "verify_email", token.secret);
  try {
    await sendMail(verificationMessage({ name: user.name, address: user.email }, url, EMAIL_TOKEN_LIFETIME_SECONDS.verify_email / 3600), {
      purpose: "verify_email",
      userId: user.id,
    });
  } catch (error) {
    if (!(error instanceof MailUnavailableError)) throw error;
    await recordAudit({
      action: "user.email_verification_send",
      outcome: "failure",
      actorId: user.id,
      target: user.email,
      ip,
      details: { reason: "mail_unavailable" },
    });
    return "failed";
  }
  await markEmailTokenSent(token.id);
  await recordAudit({ action: "user.email_verification_send", outcome: "success", actorId: user.id, target: user.email, ip });
  return "sent";
}

/** "Resend" on the dashboard's banner: limited per account, and a failed send is the person's answer (503). */
export async function resendVerificationEmail(userId: string, ip: string | null): Promise<void> {
  if (!mailEnabled()) throw new MailDisabledError();
  const user = await db().user.findUnique({ where: { id: userId }, select: { emailVerifiedAt: true } });
  if (!user) throw new UnauthenticatedError();
  if (user.emailVerifiedAt) throw new ValidationError("already_verified", "Your email address is already confirmed.");
  await consumeAttempt({ verifyEmailUser: userId });
  if ((await sendVerificationEmail(userId, ip)) === "failed") throw new MailUnavailableError();
}

/** Spends a confirmation link and marks the address it was sent to as verified. */
export async function verifyEmail(raw: unknown, ip: string | null): Promise<{ email: string }> {
  const input = emailVerificationBodySchema.parse(raw);
  try {
    return await db().$transaction(async (tx) => {
      const open = await spendEmailToken(input.token, "verify_email", tx);
      await tx.user.update({ where: { id: open.userId }, data: { emailVerifiedAt: new Date() } });
      await recordAudit({ action: "user.email_verify", outcome: "success", actorId: open.userId, target: open.email, ip }, tx);
      return { email: open.email };
    });
  } catch (error) {
    if (error instanceof ValidationError && error.code.startsWith("link_")) {
      await recordAudit({ action: "user.email_verify", outcome: "failure", ip, details: { reason: error.code } });
    }
    throw error;
  }
}

export interface VerificationBanner {
  email: string;
  /** The latest confirmation email was not accepted by the mail server. */
  lastSendFailed: boolean;
}

/** What the dashboard's banner shows for this user, or null when it shows nothing (verified, or no mail on this server). */
export async function verificationBanner(signedIn: { id: string; emailVerified: boolean }): Promise<VerificationBanner | null> {
  if (signedIn.emailVerified || !mailEnabled()) return null;
  const user = await db().user.findUnique({
    where: { id: signedIn.id },
    select: {
      email: true,
      emailVerifiedAt: true,
      emailTokens: { where: { purpose: "verify_email" }, orderBy: { createdAt: "desc" }, take: 1, select: { sentAt: true } },
    },
  });
  if (!user || user.emailVerifiedAt) return null;
  const latest = user.emailTokens[0];
  return { email: user.email, lastSendFailed: latest === undefined || latest.sentAt === null };
}
