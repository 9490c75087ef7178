import "server-only";
import { emailChangeBodySchema, emailChangeConfirmBodySchema } from "@/lib/api/account-schemas";
import { requirePasswordAgain } from "@/lib/accounts/account";
import {
  checkEmailToken,
  EMAIL_TOKEN_LIFETIME_SECONDS,
  EmailLinkError,
  emailLink,
  issueEmailToken,
  markEmailTokenSent,
  spendEmailToken,
  type EmailTokenProblem,
} from "@/lib/accounts/email-tokens";
import { recordAudit } from "@/lib/audit";
import { consumeAttempt } from "@/lib/auth/rate-limit";
import { getConfig } from "@/lib/config";
import { db, Prisma } from "@/lib/db";
import { ConflictError, ForbiddenError, UnauthenticatedError, ValidationError } from "@/lib/errors";
import { emailChangedNotice, emailChangeMessage } from "@/lib/mail/messages";
import { MailDisabledError, MailUnavailableError, mailEnabled, sendMail } from "@/lib/mail/transport";

/**
 * Changing an account's address (docs/accounts.md, "Account settings"). The
 * person asks with their password; a single-use link (purpose
 * change_email) goes to the new address, and only following it, signed in
 * as the same account, moves the account there. The token's `email` is the
 * account's address at the request, so the link dies if the address changes
 * first; `newEmail` is where it moves. Sessions continue.
 */

const emailTaken = () =>
  new ConflictError("email_taken", "Another account already uses this address.", { newEmail: "Another account already uses this address." });

function isEmailUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002" && JSON.stringify(error.meta ?? {}).includes("email");
}

/** Sends the confirmation link to the new address; a send that fails is the answer (503), and the link stays unusable. */
export async function requestEmailChange(userId: string, raw: unknown, ip: string | null): Promise<{ sentTo: string }> {
  if (!mailEnabled()) throw new MailDisabledError();
  const input = emailChangeBodySchema.parse(raw);
  const user = await db().user.findUnique({ where: { id: userId }, select: { id: true, email: true, name: true, passwordHash: true } });
  if (!user) throw new UnauthenticatedError();
  if (input.newEmail === user.email) {
    throw new ValidationError("invalid_input", "This is already your address.", { newEmail: "This is already your address." });
  }
  await requirePasswordAgain(user, input.password, ip, "user.email_change_request");
  if (await db().user.findUnique({ where: { email: input.newEmail }, select: { id: true } })) throw emailTaken();
  await consumeAttempt({ verifyEmailUser: userId });
  const token = await db().$transaction(async (tx) => {
    const issued = await issueEmailToken(user.id, user.email, "change_email", tx);
    await tx.emailToken.update({ where: { id: issued.id }, data: { newEmail: input.newEmail } });
    return issued;
  });
  const url = emailLink(getConfig().NEXTAUTH_URL, "change_email", token.secret);
  try {
    await sendMail(emailChangeMessage({ name: user.name, address: input.newEmail }, user.email, url, EMAIL_TOKEN_LIFETIME_SECONDS.change_email / 60), {
      purpose: "change_email",
      userId: user.id,
    });
  } catch (error) {
    if (error instanceof MailUnavailableError) {
      await recordAudit({
        action: "user.email_change_request",
        outcome: "failure",
        actorId: user.id,
        target: input.newEmail,
        ip,
        details: { reason: "mail_unavailable" },
      });
    }
    throw error;
  }
  await markEmailTokenSent(token.id);
  await recordAudit({ action: "user.email_change_request", outcome: "success", actorId: user.id, target: input.newEmail, ip, details: { from: user.email } });
  return { sentTo: input.newEmail };
}

export interface OpenEmailChange {
  userId: string;
  email: string;
  newEmail: string;
}

/** What a change link stands for, if it can still be used, else why not. Reads only: the page behind the link shows it. */
export async function checkEmailChange(secret: unknown): Promise<OpenEmailChange | EmailTokenProblem> {
  const open = await checkEmailToken(secret, "change_email");
  if (typeof open === "string") return open;
  const row = await db().emailToken.findUnique({ where: { id: open.id }, select: { newEmail: true } });
  if (!row?.newEmail) return "invalid";
  return { userId: open.userId, email: open.email, newEmail: row.newEmail };
}

export const OTHER_ACCOUNT_MESSAGE =
  "This link was sent for another account than the one you are signed in with. Sign out, then sign in to the account that asked for the change.";

/**
 * Follows a change link for the signed-in person: spends it, moves the
 * account to the new address and marks it verified, in one transaction. An
 * address taken since the request is 409 `email_taken` and changes nothing
 * (the unique index decides, so a sign-up racing with this cannot slip
 * between a check and the write); a link of another account is 403
 * `link_other_account` and is not spent. The old address is told after.
 */
export async function confirmEmailChange(userId: string, raw: unknown, ip: string | null): Promise<{ email: string }> {
  const input = emailChangeConfirmBodySchema.parse(raw);
  let changed: { from: string; to: string; name: string };
  try {
    changed = await db().$transaction(async (tx) => {
      const open = await checkEmailToken(input.token, "change_email", tx);
      if (typeof open !== "string" && open.userId !== userId) throw new ForbiddenError("link_other_account", OTHER_ACCOUNT_MESSAGE);
      const spent = await spendEmailToken(input.token, "change_email", tx);
      const row = await tx.emailToken.findUniqueOrThrow({ where: { id: spent.id }, select: { newEmail: true } });
      if (!row.newEmail) throw new EmailLinkError("invalid", "change_email");
      const user = await tx.user.update({ where: { id: userId }, data: { email: row.newEmail, emailVerifiedAt: new Date() }, select: { name: true } });
      await recordAudit({ action: "user.email_change", outcome: "success", actorId: userId, target: row.newEmail, ip, details: { from: spent.email } }, tx);
      return { from: spent.email, to: row.newEmail, name: user.name };
    });
  } catch (error) {
    const reason = isEmailUniqueViolation(error)
      ? "email_taken"
      : error instanceof ForbiddenError || (error instanceof ValidationError && error.code.startsWith("link_"))
        ? error.code
        : null;
    if (reason) await recordAudit({ action: "user.email_change", outcome: "failure", actorId: userId, ip, details: { reason } });
    if (isEmailUniqueViolation(error)) throw emailTaken();
    throw error;
  }
  await sendChangedNotice(userId, changed);
  return { email: changed.to };
}

/** The old address hears of the change; the change stands whatever the mail server says, and a failed notice is logged by the sender and audited. */
async function sendChangedNotice(userId: string, changed: { from: string; to: string; name: string }): Promise<void> {
  try {
    await sendMail(emailChangedNotice({ name: changed.name, address: changed.from }, changed.to, new URL("/signin", getConfig().NEXTAUTH_URL).toString()), {
      purpose: "email_changed_notice",
      userId,
    });
  } catch (error) {
    if (!(error instanceof MailUnavailableError)) throw error;
    await recordAudit({
      action: "user.email_change_notice",
      outcome: "failure",
      actorId: userId,
      target: changed.from,
      details: { reason: "mail_unavailable" },
    });
  }
}
