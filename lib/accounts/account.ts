import "server-only";
import { changePasswordBodySchema } from "@/lib/api/schemas";
import { db } from "@/lib/db";
import { hashPassword, verifyPassword } from "@/lib/auth/password";
import { consumeAttempt, resetAttempts } from "@/lib/auth/rate-limit";
import { recordAudit } from "@/lib/audit";
import { changeNameBodySchema, deleteAccountBodySchema } from "@/lib/api/account-schemas";
import { ConflictError, ForbiddenError, UnauthenticatedError, ValidationError } from "@/lib/errors";
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

/** Ends every session of the user, this one included, and those begun before sessions were recorded. */
export async function signOutEverywhere(userId: string, ip: string | null): Promise<void> {
  await db().$transaction(async (tx) => {
    const user = await tx.user.update({ where: { id: userId }, data: { sessionVersion: { increment: 1 } }, select: { email: true } });
    await tx.userSession.deleteMany({ where: { userId } });
    await recordAudit({ action: "user.signout_everywhere", outcome: "success", actorId: userId, target: user.email, ip }, tx);
  });
}

/** Changes the name the dashboard shows and mail greets with; the sign-up rules apply. */
export async function changeName(userId: string, raw: unknown, ip: string | null): Promise<{ name: string }> {
  const { name } = changeNameBodySchema.parse(raw);
  return db().$transaction(async (tx) => {
    const before = await tx.user.findUnique({ where: { id: userId }, select: { name: true, email: true } });
    if (!before) throw new UnauthenticatedError();
    const updated = await tx.user.update({ where: { id: userId }, data: { name }, select: { name: true } });
    await recordAudit(
      { action: "user.name_change", outcome: "success", actorId: userId, target: before.email, ip, details: { from: before.name, to: name } },
      tx,
    );
    return updated;
  });
}

/**
 * Checks the password a person entered again before a change that needs
 * it (an email change, deleting the account), under the sign-in limits:
 * a stolen session must not become a way to guess the password.
 */
export async function requirePasswordAgain(
  user: { id: string; email: string; passwordHash: string | null },
  password: string,
  ip: string | null,
  action: string,
): Promise<void> {
  // Told apart from a wrong password: an account made by single sign-on has none to enter until a reset gives it one.
  if (user.passwordHash === null) {
    throw new ForbiddenError(
      "no_password",
      "This account signs in through single sign-on and has no password. Set one with “Forgot password?” on the sign-in page, then try again.",
      { password: "This account has no password yet." },
    );
  }
  await consumeAttempt({ signInEmail: user.email, ...(ip ? { signInIp: ip } : {}) });
  if (!(await verifyPassword(user.passwordHash, password))) {
    await recordAudit({ action, outcome: "failure", actorId: user.id, target: user.email, ip, details: { reason: "wrong_password" } });
    throw new ForbiddenError("wrong_password", "Your password is not right.", { password: "Your password is not right." });
  }
  await resetAttempts("signInEmail", user.email);
}

/**
 * Deletes the person's account, after their password. Refused (409
 * `last_owner`, naming the workspaces) while they are the last owner of a
 * workspace that has sites or other members: they would be left with
 * nobody to manage them. Otherwise, in one transaction: the workspaces where they are the
 * only member and that have no sites go; the API tokens they made are
 * deleted (a token must not outlive the person who stood behind it); the
 * user row goes, and with it their memberships, sessions and email links.
 * Deploys they made keep their history, without the name. The audit event
 * keeps the account's id and address.
 */
export async function deleteAccount(userId: string, raw: unknown, ip: string | null): Promise<{ deletedWorkspaces: string[] }> {
  const { password } = deleteAccountBodySchema.parse(raw);
  const user = await db().user.findUnique({ where: { id: userId }, select: { id: true, email: true, passwordHash: true } });
  if (!user) throw new UnauthenticatedError();
  await requirePasswordAgain(user, password, ip, "user.delete");
  try {
    return await deleteAccountRows(user, ip);
  } catch (error) {
    if (error instanceof LastOwnerError) {
      await recordAudit({
        action: "user.delete",
        outcome: "failure",
        actorId: userId,
        target: user.email,
        ip,
        details: { reason: "last_owner", workspaces: error.workspaces },
      });
    }
    throw error;
  }
}

class LastOwnerError extends ConflictError {
  constructor(readonly workspaces: string[]) {
    const one = workspaces.length === 1;
    super(
      "last_owner",
      `You are the last owner of ${one ? "the workspace" : "the workspaces"} ${workspaces.join(", ")}, which ${one ? "has" : "have"} sites or other members. Make someone else an owner, or delete the sites and remove the members, first.`,
    );
  }
}

async function deleteAccountRows(user: { id: string; email: string }, ip: string | null): Promise<{ deletedWorkspaces: string[] }> {
  const userId = user.id;
  return db().$transaction(async (tx) => {
    // Locks this person's memberships' workspaces in a fixed order, so a
    // concurrent change of their owners or sites is judged before or after this, never half-way.
    const memberships = await tx.$queryRaw<{ tenantId: string; slug: string; role: string }[]>`
      SELECT m."tenantId", t."slug", m."role"::text AS "role" FROM "Membership" m JOIN "Tenant" t ON t."id" = m."tenantId"
      WHERE m."userId" = ${userId} ORDER BY t."id" FOR UPDATE OF t`;
    const tenantIds = memberships.map((m) => m.tenantId);
    const [siteCounts, memberCounts, ownerCounts] = await Promise.all([
      tx.site.groupBy({ by: ["tenantId"], where: { tenantId: { in: tenantIds } }, _count: { _all: true } }),
      tx.membership.groupBy({ by: ["tenantId"], where: { tenantId: { in: tenantIds } }, _count: { _all: true } }),
      tx.membership.groupBy({ by: ["tenantId"], where: { tenantId: { in: tenantIds }, role: "owner" }, _count: { _all: true } }),
    ]);
    const count = (rows: { tenantId: string; _count: { _all: number } }[], id: string) => rows.find((r) => r.tenantId === id)?._count._all ?? 0;
    // Other members count too: without an owner nobody could manage them or the workspace again.
    const blocking = memberships.filter(
      (m) => m.role === "owner" && count(ownerCounts, m.tenantId) === 1 && (count(siteCounts, m.tenantId) > 0 || count(memberCounts, m.tenantId) > 1),
    );
    if (blocking.length > 0) throw new LastOwnerError(blocking.map((m) => m.slug));
    const alone = memberships.filter((m) => count(memberCounts, m.tenantId) === 1 && count(siteCounts, m.tenantId) === 0);
    await tx.apiToken.deleteMany({ where: { createdById: userId } });
    await tx.tenant.deleteMany({ where: { id: { in: alone.map((m) => m.tenantId) } } });
    await tx.user.delete({ where: { id: userId } });
    await recordAudit(
      { action: "user.delete", outcome: "success", actorId: userId, target: user.email, ip, details: { deletedWorkspaces: alone.map((m) => m.slug) } },
      tx,
    );
    return { deletedWorkspaces: alone.map((m) => m.slug) };
  });
}
