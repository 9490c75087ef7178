import "server-only";
import { passwordResetBodySchema, passwordResetRequestBodySchema } from "@/lib/api/schemas";
import { db } from "@/lib/db";
import { hashPassword } from "@/lib/auth/password";
import { consumeAttempt, resetAttempts } from "@/lib/auth/rate-limit";
import { recordAudit } from "@/lib/audit";
import { getConfig } from "@/lib/config";
import { ValidationError } from "@/lib/errors";
import { componentLogger } from "@/lib/log";
import { passwordResetMessage } from "@/lib/mail/messages";
import { MailDisabledError, mailEnabled, sendMail } from "@/lib/mail/transport";
import { passwordProblem } from "@/lib/validation";
import { EMAIL_TOKEN_LIFETIME_SECONDS, emailLink, issueEmailToken, markEmailTokenSent, spendEmailToken } from "@/lib/accounts/email-tokens";

const log = componentLogger("password-reset");

/** The one answer to every accepted request, whether or not an account has the address. */
export const RESET_REQUESTED_MESSAGE =
  "If an account uses this address, we have sent it a link to choose a new password. The link works for 30 minutes; check your spam folder if nothing arrives.";

/**
 * "Forgot password": counts the request against the per-IP and per-address
 * limits, then answers the same whether or not the address has an account.
 * The work that differs (a token, the email) is returned as `delivery`, a
 * promise that never rejects, for the route to finish after answering: so
 * neither the answer nor its timing says whether the address is known.
 */
export async function requestPasswordReset(raw: unknown, ip: string | null): Promise<{ message: string; delivery: Promise<void> }> {
  const { email } = passwordResetRequestBodySchema.parse(raw);
  if (!mailEnabled()) throw new MailDisabledError("This Pagoda server is not set up to send email, so it cannot reset passwords. Ask its administrator.");
  await consumeAttempt({ resetEmail: email, ...(ip ? { resetIp: ip } : {}) });
  const user = await db().user.findUnique({ where: { email }, select: { id: true, email: true, name: true } });
  const delivery = deliverReset(user, email, ip).catch((error: unknown) => {
    log.error({ err: error, userId: user?.id, ip }, "password-reset delivery failed");
  });
  return { message: RESET_REQUESTED_MESSAGE, delivery };
}

async function deliverReset(user: { id: string; email: string; name: string } | null, email: string, ip: string | null): Promise<void> {
  if (!user) {
    await recordAudit({ action: "user.password_reset_request", outcome: "failure", target: email, ip, details: { reason: "unknown_email" } });
    return;
  }
  const token = await issueEmailToken(user.id, user.email, "password_reset");
  const url = emailLink(getConfig().NEXTAUTH_URL, "password_reset", token.secret);
  try {
    await sendMail(passwordResetMessage({ name: user.name, address: user.email }, url, EMAIL_TOKEN_LIFETIME_SECONDS.password_reset / 60), {
      purpose: "password_reset",
      userId: user.id,
    });
  } catch (error) {
    await recordAudit({
      action: "user.password_reset_request",
      outcome: "failure",
      actorId: user.id,
      target: email,
      ip,
      details: { reason: "mail_unavailable" },
    });
    throw error;
  }
  await markEmailTokenSent(token.id);
  await recordAudit({ action: "user.password_reset_request", outcome: "success", actorId: user.id, target: email, ip });
}

/**
 * Sets a new password with a reset link: the link is spent, every session
 * of the account ends (the session version moves on), and the earlier
 * sign-in mistakes for the address are forgiven. Following the link also
 * proves the address, so an unverified one counts as verified from here.
 * The password follows the sign-up rules; a refused one spends nothing.
 */
export async function completePasswordReset(raw: unknown, ip: string | null): Promise<{ email: string }> {
  const input = passwordResetBodySchema.parse(raw);
  const result = await db()
    .$transaction(async (tx) => {
      const open = await spendEmailToken(input.token, "password_reset", tx);
      const problem = passwordProblem(input.password, open.email);
      if (problem) throw new ValidationError("invalid_input", problem, { password: problem });
      const hash = await hashPassword(input.password);
      const user = await tx.user.update({
        where: { id: open.userId },
        data: { passwordHash: hash, sessionVersion: { increment: 1 } },
        select: { email: true, emailVerifiedAt: true },
      });
      if (!user.emailVerifiedAt) await tx.user.update({ where: { id: open.userId }, data: { emailVerifiedAt: new Date() } });
      await recordAudit({ action: "user.password_reset", outcome: "success", actorId: open.userId, target: user.email, ip }, tx);
      return { email: user.email };
    })
    .catch(async (error: unknown) => {
      if (error instanceof ValidationError && error.code.startsWith("link_")) {
        await recordAudit({ action: "user.password_reset", outcome: "failure", ip, details: { reason: error.code } });
      }
      throw error;
    });
  await resetAttempts("signInEmail", result.email);
  return result;
}
