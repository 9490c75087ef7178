import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { db } from "@/lib/db";
import type { EmailTokenPurpose, Prisma } from "@/lib/generated/prisma/client";
import { ValidationError } from "@/lib/errors";

/**
 * Single-use links sent by email (docs/accounts.md). The link carries 32
 * random bytes; the database keeps only their SHA-256, so whoever reads a
 * backup or the table cannot use a link that is still open. A link is spent
 * by one conditional UPDATE (unused, unexpired, this hash), so two requests
 * racing with the same link cannot both succeed.
 */

export const EMAIL_TOKEN_LIFETIME_SECONDS: Record<EmailTokenPurpose, number> = {
  password_reset: 30 * 60,
  verify_email: 24 * 60 * 60,
  change_email: 60 * 60,
};

/** base64url of 32 bytes, exactly; anything else cannot be ours and is refused before any lookup. */
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export function hashEmailToken(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

type Writer = Pick<Prisma.TransactionClient, "emailToken">;

/** A new link's secret for `userId` at `email`; only its hash is written. */
export async function issueEmailToken(
  userId: string,
  email: string,
  purpose: EmailTokenPurpose,
  tx: Writer = db(),
  now = new Date(),
): Promise<{ id: string; secret: string; expiresAt: Date }> {
  const secret = randomBytes(32).toString("base64url");
  const expiresAt = new Date(now.getTime() + EMAIL_TOKEN_LIFETIME_SECONDS[purpose] * 1000);
  const row = await tx.emailToken.create({
    data: { userId, email, purpose, tokenHash: hashEmailToken(secret), expiresAt, createdAt: now },
    select: { id: true },
  });
  return { id: row.id, secret, expiresAt };
}

export type EmailTokenProblem = "invalid" | "expired" | "used";

/** Why a link cannot be used, for the person who followed it. */
export class EmailLinkError extends ValidationError {
  constructor(
    readonly problem: EmailTokenProblem,
    purpose: EmailTokenPurpose,
  ) {
    super(`link_${problem}`, EmailLinkError.messageFor(problem, purpose));
  }

  static messageFor(problem: EmailTokenProblem, purpose: EmailTokenPurpose): string {
    const again =
      purpose === "password_reset"
        ? "Ask for a new password-reset link."
        : purpose === "change_email"
          ? "Ask for the change again on your account page."
          : "Send yourself a new confirmation link from the dashboard.";
    switch (problem) {
      case "invalid":
        return `This link is not valid: it may have been cut short or changed. Copy the whole link from the email, or ${again.charAt(0).toLowerCase()}${again.slice(1)}`;
      case "expired":
        return `This link has expired. ${again}`;
      case "used":
        return `This link has already been used, and works only once. ${again}`;
    }
  }
}

export interface OpenEmailToken {
  id: string;
  userId: string;
  email: string;
}

/**
 * The token a link stands for, if it can still be used, else the reason it
 * cannot. Reads only; spendEmailToken does the one write. A token whose
 * account has since changed its address counts as invalid.
 */
export async function checkEmailToken(
  secret: unknown,
  purpose: EmailTokenPurpose,
  reader: Writer = db(),
  now = new Date(),
): Promise<OpenEmailToken | EmailTokenProblem> {
  if (typeof secret !== "string" || !TOKEN_FORMAT.test(secret)) return "invalid";
  const row = await reader.emailToken.findUnique({
    where: { tokenHash: hashEmailToken(secret) },
    select: { id: true, userId: true, email: true, purpose: true, expiresAt: true, usedAt: true, user: { select: { email: true } } },
  });
  if (!row || row.purpose !== purpose) return "invalid";
  // Before the address check: a spent email-change link has moved the account, and "used" is what its second click should hear.
  if (row.usedAt) return "used";
  if (row.user.email !== row.email) return "invalid";
  if (row.expiresAt.getTime() <= now.getTime()) return "expired";
  return { id: row.id, userId: row.userId, email: row.email };
}

/**
 * Spends the token inside the caller's transaction, or throws EmailLinkError
 * saying why it cannot be. Every other open token of the same purpose and
 * user is spent with it: after a reset, an older reset email opens nothing.
 */
export async function spendEmailToken(secret: unknown, purpose: EmailTokenPurpose, tx: Writer, now = new Date()): Promise<OpenEmailToken> {
  const found = await checkEmailToken(secret, purpose, tx, now);
  if (typeof found === "string") throw new EmailLinkError(found, purpose);
  const spent = await tx.emailToken.updateMany({ where: { id: found.id, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
  // Another request spent it between the read and this write.
  if (spent.count !== 1) throw new EmailLinkError("used", purpose);
  await tx.emailToken.updateMany({ where: { userId: found.userId, purpose, usedAt: null }, data: { usedAt: now } });
  return found;
}

/** Records that the SMTP server accepted the message carrying this token. */
export async function markEmailTokenSent(id: string): Promise<void> {
  await db().emailToken.update({ where: { id }, data: { sentAt: new Date() } });
}

const EMAIL_LINK_PATHS: Record<EmailTokenPurpose, string> = {
  password_reset: "/reset-password",
  verify_email: "/verify-email",
  change_email: "/account/email",
};

/** The link a message carries: the dashboard's page for the purpose, with the secret in the query. */
export function emailLink(baseUrl: string, purpose: EmailTokenPurpose, secret: string): string {
  const url = new URL(EMAIL_LINK_PATHS[purpose], baseUrl);
  url.searchParams.set("token", secret);
  return url.toString();
}
