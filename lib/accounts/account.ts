import "server-only";
import { changePasswordBodySchema } from "@/lib/api/schemas";
import { db } from "@/lib/db";
import { hashPassword, verifyPassword } from "@/lib/auth/password";
import { consumeAttempt, resetAttempts } from "@/lib/auth/rate-limit";
import { recordAudit } from "@/lib/audit";
import { ForbiddenError, UnauthenticatedError, ValidationError } from "@/lib/errors";
import { passwordProblem } from "@/lib/validation";

const wrongPassword = () =>
  new ForbiddenError("wrong_password", "Your current password is not right.", { currentPassword: "Your current password is not right." });

/**
 * Changes a signed-in user's password. The current password is checked
 * first, under the same attempt limits as sign-in (a stolen session must not
 * become a way to guess it without limit), and the new one follows the
 * sign-up rules. Bumps the session version, so every other session of the
 * user ends; returns the new version for the caller's own fresh token.
 */
export async function changePassword(userId: string, raw: unknown, ip: string | null): Promise<{ sessionVersion: number }> {
  const input = changePasswordBodySchema.parse(raw);
  const user = await db().user.findUnique({ where: { id: userId }, select: { id: true, email: true, passwordHash: true } });
  if (!user) throw new UnauthenticatedError();
  if (user.passwordHash === null) {
    throw new ForbiddenError("no_password", "This account signs in through single sign-on and has no password to change.");
  }
  // Rules first: a new password that could never be accepted costs no attempt.
  const problem = passwordProblem(input.newPassword, user.email);
  if (problem) throw new ValidationError("invalid_input", problem, { newPassword: problem });
  if (input.newPassword === input.currentPassword) {
    const message = "Choose a password different from your current one.";
    throw new ValidationError("invalid_input", message, { newPassword: message });
  }
  // Counted against the sign-in limits before any work, like a sign-in attempt.
  await consumeAttempt({ signInEmail: user.email, ...(ip ? { signInIp: ip } : {}) });
  if (!(await verifyPassword(user.passwordHash, input.currentPassword))) {
    await recordAudit({ action: "user.password_change", outcome: "failure", actorId: user.id, target: user.email, ip, details: { reason: "wrong_password" } });
    throw wrongPassword();
  }
  await resetAttempts("signInEmail", user.email);
  const passwordHash = await hashPassword(input.newPassword);
  return db().$transaction(async (tx) => {
    const updated = await tx.user.update({
      where: { id: user.id },
      data: { passwordHash, sessionVersion: { increment: 1 } },
      select: { sessionVersion: true },
    });
    await recordAudit({ action: "user.password_change", outcome: "success", actorId: user.id, target: user.email, ip }, tx);
    return updated;
  });
}

/** Ends every session of the user, this one included. */
export async function signOutEverywhere(userId: string, ip: string | null): Promise<void> {
  await db().$transaction(async (tx) => {
    const user = await tx.user.update({ where: { id: userId }, data: { sessionVersion: { increment: 1 } }, select: { email: true } });
    await recordAudit({ action: "user.signout_everywhere", outcome: "success", actorId: userId, target: user.email, ip }, tx);
  });
}
