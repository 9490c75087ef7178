import "server-only";
import { changeRoleBodySchema, type MemberView } from "@/lib/api/member-schemas";
import { recordAudit } from "@/lib/audit";
import { db } from "@/lib/db";
import { ConflictError, ForbiddenError, NotFoundError } from "@/lib/errors";
import type { Prisma, Role } from "@/lib/generated/prisma/client";
import { requireOwner, type TenantActor } from "@/lib/tenancy/access";

/**
 * A workspace's members and their roles. Only owners see and change them;
 * anyone may leave. A workspace always keeps at least one owner: every change
 * that could take away an owner locks the tenant's owner rows first, so two
 * owners demoting each other at once take turns, and the second sees that it
 * would leave none.
 */

export const LAST_OWNER_MESSAGE = "A workspace needs at least one owner. Make another member an owner first.";

export async function listMembers(actor: TenantActor): Promise<MemberView[]> {
  requireOwner(actor);
  const rows = await db().membership.findMany({
    where: { tenantId: actor.tenantId },
    orderBy: { createdAt: "asc" },
    select: { role: true, createdAt: true, user: { select: { id: true, name: true, email: true } } },
  });
  return rows.map((row) => ({ userId: row.user.id, name: row.user.name, email: row.user.email, role: row.role, joinedAt: row.createdAt.toISOString() }));
}

type Tx = Prisma.TransactionClient;

/**
 * Locks the tenant's owner rows, always in the same order, and answers how
 * many owners there are. An owner acting on the strength of a role that a
 * concurrent change has just taken away is refused here: the role was read
 * before the lock, the lock reads it again.
 */
async function lockOwners(tx: Tx, actor: TenantActor, asOwner: boolean): Promise<number> {
  const owners = await tx.$queryRaw<{ userId: string }[]>`
    SELECT "userId" FROM "Membership" WHERE "tenantId" = ${actor.tenantId} AND role = 'owner' ORDER BY id FOR UPDATE`;
  if (asOwner && !owners.some((owner) => owner.userId === actor.userId)) {
    throw new ForbiddenError("role_required", "Only owners of this workspace can do this, and you are no longer one of them.");
  }
  return owners.length;
}

async function membershipOf(tx: Tx, tenantId: string, userId: string) {
  const row = await tx.membership.findUnique({
    where: { userId_tenantId: { userId, tenantId } },
    select: { id: true, role: true, createdAt: true, user: { select: { id: true, name: true, email: true } } },
  });
  if (!row) throw new NotFoundError("Member not found.");
  return row;
}

export async function changeMemberRole(actor: TenantActor, userId: string, raw: unknown, ip: string | null): Promise<MemberView> {
  requireOwner(actor);
  const { role } = changeRoleBodySchema.parse(raw);
  return db().$transaction(async (tx) => {
    const owners = await lockOwners(tx, actor, true);
    const member = await membershipOf(tx, actor.tenantId, userId);
    if (member.role === "owner" && role !== "owner" && owners <= 1) throw new ConflictError("last_owner", LAST_OWNER_MESSAGE);
    if (member.role !== role) {
      await tx.membership.update({ where: { id: member.id }, data: { role } });
      await recordAudit(
        {
          action: "member.role_changed",
          outcome: "success",
          tenantId: actor.tenantId,
          actorId: actor.userId,
          target: member.user.email,
          ip,
          details: { userId, from: member.role, to: role },
        },
        tx,
      );
    }
    return { userId, name: member.user.name, email: member.user.email, role, joinedAt: member.createdAt.toISOString() };
  });
}

/**
 * Takes `userId` out of the workspace. Removing oneself is leaving, which
 * every role may do (a token may not: it is nobody); removing someone else
 * is for owners. Either way the last owner stays.
 */
export async function removeMember(actor: TenantActor, userId: string, ip: string | null): Promise<{ left: boolean }> {
  const leaving = actor.userId !== null && actor.userId === userId;
  if (!leaving) requireOwner(actor);
  if (actor.token) throw new ForbiddenError("token_not_allowed", "API tokens cannot do this. Sign in to the dashboard to do it.");
  await db().$transaction(async (tx) => {
    const owners = await lockOwners(tx, actor, !leaving);
    const member = await membershipOf(tx, actor.tenantId, userId);
    if (member.role === "owner" && owners <= 1) {
      throw new ConflictError(
        "last_owner",
        leaving ? "You are the last owner of this workspace, so you cannot leave it. Make another member an owner first." : LAST_OWNER_MESSAGE,
      );
    }
    await tx.membership.delete({ where: { id: member.id } });
    await recordAudit(
      {
        action: leaving ? "member.left" : "member.removed",
        outcome: "success",
        tenantId: actor.tenantId,
        actorId: actor.userId,
        target: member.user.email,
        ip,
        details: { userId, role: member.role satisfies Role },
      },
      tx,
    );
  });
  return { left: leaving };
}
