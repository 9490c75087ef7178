/**
 * Members and roles against the real database: what owners see and change,
 * leaving, and the rule that a workspace keeps an owner, also when two
 * owners demote each other at the same moment.
 */
import { describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { ConflictError, ForbiddenError, NotFoundError } from "@/lib/errors";
import type { Role } from "@/lib/generated/prisma/client";
import { actorFor, type TenantActor } from "@/lib/tenancy/access";
import { changeMemberRole, listMembers, removeMember } from "@/lib/tenancy/members";
import { newAccount } from "@/tests/support/accounts";

async function joined(tenant: TenantActor, role: Role, label: string): Promise<TenantActor & { userId: string }> {
  const { userId } = await newAccount(label);
  await db().membership.create({ data: { userId, tenantId: tenant.tenantId, role } });
  return { ...(await actorFor(userId, tenant.tenantSlug)), userId };
}

async function refusal(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => null,
    (e: unknown) => e,
  );
}

const roleOf = async (tenantId: string, userId: string) =>
  (await db().membership.findUnique({ where: { userId_tenantId: { userId, tenantId } }, select: { role: true } }))?.role ?? null;

describe("members", () => {
  it("an owner lists the members with their roles, changes a role and removes a member, each audited", async () => {
    const { actor: owner, email } = await newAccount("members-owner");
    const bob = await joined(owner, "member", "members-bob");
    const list = await listMembers(owner);
    expect(list.map((m) => [m.email, m.role])).toEqual([
      [email, "owner"],
      [expect.stringMatching(/^members-bob-/), "member"],
    ]);
    await expect(changeMemberRole(owner, bob.userId, { role: "viewer" }, "198.51.100.7")).resolves.toMatchObject({ role: "viewer" });
    expect(await roleOf(owner.tenantId, bob.userId)).toBe("viewer");
    await removeMember(owner, bob.userId, null);
    expect(await roleOf(owner.tenantId, bob.userId)).toBeNull();
    const events = await db().auditEvent.findMany({ where: { tenantId: owner.tenantId, action: { startsWith: "member." } }, orderBy: { createdAt: "asc" } });
    expect(events.map((e) => [e.action, e.actorId, (e.details as { userId: string }).userId])).toEqual([
      ["member.role_changed", owner.userId, bob.userId],
      ["member.removed", owner.userId, bob.userId],
    ]);
    expect(events[0]!.details).toMatchObject({ from: "member", to: "viewer" });
  });

  it("refuses a bad role and a stranger, and answers another workspace's member as not found", async () => {
    const { actor: owner } = await newAccount("members-input");
    const bob = await joined(owner, "member", "members-input-bob");
    expect(await refusal(changeMemberRole(owner, bob.userId, { role: "admin" }, null))).toMatchObject({ name: "ZodError" });
    const { actor: stranger } = await newAccount("members-stranger");
    expect(await refusal(changeMemberRole(stranger, bob.userId, { role: "owner" }, null))).toBeInstanceOf(NotFoundError);
    expect(await refusal(removeMember(stranger, bob.userId, null))).toBeInstanceOf(NotFoundError);
    expect(await roleOf(owner.tenantId, bob.userId)).toBe("member");
  });

  it("a member or viewer may leave; they may not remove anyone else", async () => {
    const { actor: owner } = await newAccount("members-leave");
    const bob = await joined(owner, "member", "members-leave-bob");
    const vera = await joined(owner, "viewer", "members-leave-vera");
    const refused = await refusal(removeMember(bob, vera.userId, null));
    expect(refused).toBeInstanceOf(ForbiddenError);
    expect(refused).toMatchObject({ code: "role_required" });
    await expect(removeMember(vera, vera.userId, null)).resolves.toEqual({ left: true });
    await expect(removeMember(bob, bob.userId, null)).resolves.toEqual({ left: true });
    expect(await db().membership.count({ where: { tenantId: owner.tenantId } })).toBe(1);
    expect(await db().auditEvent.count({ where: { tenantId: owner.tenantId, action: "member.left" } })).toBe(2);
  });

  it("the last owner can be neither demoted nor removed, nor leave", async () => {
    const { actor: owner } = await newAccount("members-last");
    const bob = await joined(owner, "member", "members-last-bob");
    for (const work of [changeMemberRole(owner, owner.userId!, { role: "member" }, null), removeMember(owner, owner.userId!, null)]) {
      const error = await refusal(work);
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ code: "last_owner" });
    }
    expect(await roleOf(owner.tenantId, owner.userId!)).toBe("owner");
    // With a second owner, the first may step down.
    await changeMemberRole(owner, bob.userId, { role: "owner" }, null);
    await expect(changeMemberRole(owner, owner.userId!, { role: "member" }, null)).resolves.toMatchObject({ role: "member" });
  });

  it("two owners demoting each other at once: exactly one succeeds and one owner is left", async () => {
    for (let round = 0; round < 5; round++) {
      const { actor: alice } = await newAccount("race-alice");
      const bob = await joined(alice, "owner", "race-bob");
      const results = await Promise.allSettled([
        changeMemberRole(alice, bob.userId, { role: "member" }, null),
        changeMemberRole(bob, alice.userId!, { role: "member" }, null),
      ]);
      const failed = results.filter((r) => r.status === "rejected");
      expect(failed, `round ${round}`).toHaveLength(1);
      expect(["last_owner", "role_required"]).toContain((failed[0] as PromiseRejectedResult).reason.code);
      expect(await db().membership.count({ where: { tenantId: alice.tenantId, role: "owner" } })).toBe(1);
    }
  });

  it("two owners leaving at once: one stays", async () => {
    const { actor: alice } = await newAccount("race-leave-alice");
    const bob = await joined(alice, "owner", "race-leave-bob");
    const results = await Promise.allSettled([removeMember(alice, alice.userId!, null), removeMember(bob, bob.userId, null)]);
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
    expect(await db().membership.count({ where: { tenantId: alice.tenantId, role: "owner" } })).toBe(1);
  });
});
