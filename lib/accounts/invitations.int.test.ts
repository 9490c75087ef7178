/**
 * An invitation's whole life against the real database and the run's real
 * Mailpit: what arrives, what is stored, accepting, and every way a link is
 * refused (reused, expired, revoked, replaced, altered, another account,
 * already a member) with nothing changed.
 */
import { createHash } from "node:crypto";
import { describe, expect, it, inject } from "vitest";
import { acceptInvitation, checkInvitation, createInvitation, InvitationLinkError, listInvitations, revokeInvitation } from "@/lib/accounts/invitations";
import { signUp } from "@/lib/accounts/signup";
import { RateLimitedError } from "@/lib/auth/rate-limit";
import { db } from "@/lib/db";
import { ConflictError, ForbiddenError } from "@/lib/errors";
import type { TenantActor } from "@/lib/tenancy/access";
import { newAccount } from "@/tests/support/accounts";
import { messagesTo, waitForMessage } from "@/tests/support/mailpit";

const mailpit = inject("mailpitUrl");
let counter = 0;
const address = (label: string) => `${label}-${Date.now().toString(36)}-${++counter}@example.com`;

/** Invites `email` and returns the secret from the link in the email that arrived. */
async function invite(owner: TenantActor, email: string, role: "owner" | "member" | "viewer" = "member"): Promise<string> {
  const before = (await messagesTo(mailpit, email)).length;
  await createInvitation(owner, { email, role }, "198.51.100.9");
  const message = await waitForMessage(mailpit, email, { count: before + 1 });
  const link = [...message.Text.matchAll(/https?:\/\/\S+/g)].map((m) => new URL(m[0])).find((url) => url.pathname.startsWith("/invite/"));
  expect(link, message.Text).toBeDefined();
  return link!.pathname.slice("/invite/".length);
}

async function problem(work: Promise<unknown>): Promise<string> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvitationLinkError);
  return (error as InvitationLinkError).code;
}

/** An account at exactly this address (newAccount makes up its own). */
async function userWith(email: string) {
  const { userId } = await signUp({ name: "Invitee", email, password: "a long and varied passphrase" }, "127.0.0.1");
  return { id: userId, email };
}

const membershipsOf = (tenantId: string) => db().membership.findMany({ where: { tenantId }, select: { userId: true, role: true }, orderBy: { userId: "asc" } });

describe("invitations", () => {
  it("mails a link with both parts, stores only its hash, and accepting joins with the role, verifies the address and is audited", async () => {
    const { actor: owner } = await newAccount("inv-owner");
    const email = address("inv-joiner");
    const secret = await invite(owner, email, "viewer");
    const message = await waitForMessage(mailpit, email);
    expect(message.Subject).toContain("invited you to");
    expect(message.HTML).toContain(`/invite/${secret}`);
    const rows = await db().invitation.findMany({ where: { tenantId: owner.tenantId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.tokenHash).toBe(createHash("sha256").update(secret).digest("hex"));
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(rows[0]!.expiresAt.getTime() - rows[0]!.createdAt.getTime()).toBe(7 * 24 * 60 * 60 * 1000);

    // Reading the link (the page's GET) spends nothing.
    expect(await checkInvitation(secret)).toMatchObject({ email, role: "viewer", tenantSlug: owner.tenantSlug });
    expect(await checkInvitation(secret)).toMatchObject({ email });

    const joiner = await userWith(email);
    expect((await db().user.findUniqueOrThrow({ where: { id: joiner.id } })).emailVerifiedAt).toBeNull();
    await expect(acceptInvitation(joiner, { token: secret }, null)).resolves.toEqual({ tenant: owner.tenantSlug, role: "viewer" });
    expect(await db().membership.findUnique({ where: { userId_tenantId: { userId: joiner.id, tenantId: owner.tenantId } } })).toMatchObject({ role: "viewer" });
    expect((await db().user.findUniqueOrThrow({ where: { id: joiner.id } })).emailVerifiedAt).not.toBeNull();
    expect(await db().invitation.findFirstOrThrow({ where: { tenantId: owner.tenantId } })).toMatchObject({ acceptedById: joiner.id });
    const audit = await db().auditEvent.findMany({ where: { tenantId: owner.tenantId, action: { startsWith: "invitation." } }, orderBy: { createdAt: "asc" } });
    expect(audit.map((e) => [e.action, e.outcome, e.target])).toEqual([
      ["invitation.created", "success", email],
      ["invitation.accepted", "success", email],
    ]);
  });

  it("a reused link is refused (link_used) and makes no second membership", async () => {
    const { actor: owner } = await newAccount("inv-reuse");
    const email = address("inv-reuser");
    const secret = await invite(owner, email);
    const joiner = await userWith(email);
    await acceptInvitation(joiner, { token: secret }, null);
    const before = await membershipsOf(owner.tenantId);
    expect(await problem(acceptInvitation(joiner, { token: secret }, null))).toBe("link_used");
    expect(await checkInvitation(secret)).toBe("used");
    expect(await membershipsOf(owner.tenantId)).toEqual(before);
  });

  it("two accepts racing with one link: one joins, the other is refused", async () => {
    const { actor: owner } = await newAccount("inv-race");
    const email = address("inv-racer");
    const secret = await invite(owner, email);
    const joiner = await userWith(email);
    const results = await Promise.allSettled([acceptInvitation(joiner, { token: secret }, null), acceptInvitation(joiner, { token: secret }, null)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(await db().membership.count({ where: { tenantId: owner.tenantId, userId: joiner.id } })).toBe(1);
  });

  it("an expired link is refused (link_expired) and changes nothing", async () => {
    const { actor: owner } = await newAccount("inv-expired");
    const email = address("inv-late");
    const secret = await invite(owner, email);
    await db().invitation.updateMany({ where: { tenantId: owner.tenantId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const joiner = await userWith(email);
    const before = await membershipsOf(owner.tenantId);
    expect(await problem(acceptInvitation(joiner, { token: secret }, null))).toBe("link_expired");
    expect(await membershipsOf(owner.tenantId)).toEqual(before);
    expect((await db().invitation.findFirstOrThrow({ where: { tenantId: owner.tenantId } })).acceptedAt).toBeNull();
    expect((await listInvitations(owner))[0]).toMatchObject({ state: "expired" });
  });

  it("a revoked link is refused (link_revoked); revoking is audited once and leaves the list", async () => {
    const { actor: owner } = await newAccount("inv-revoked");
    const email = address("inv-withdrawn");
    const secret = await invite(owner, email);
    const [open] = await listInvitations(owner);
    await expect(revokeInvitation(owner, open!.id, null)).resolves.toMatchObject({ state: "revoked" });
    await expect(revokeInvitation(owner, open!.id, null)).resolves.toMatchObject({ state: "revoked" });
    expect(await listInvitations(owner)).toEqual([]);
    expect(await db().auditEvent.count({ where: { tenantId: owner.tenantId, action: "invitation.revoked" } })).toBe(1);
    const joiner = await userWith(email);
    expect(await problem(acceptInvitation(joiner, { token: secret }, null))).toBe("link_revoked");
    expect(await db().membership.count({ where: { tenantId: owner.tenantId, userId: joiner.id } })).toBe(0);
  });

  it("inviting the same address again replaces the older link", async () => {
    const { actor: owner } = await newAccount("inv-again");
    const email = address("inv-twice");
    const older = await invite(owner, email, "viewer");
    const newer = await invite(owner, email, "member");
    expect(await listInvitations(owner)).toHaveLength(1);
    const joiner = await userWith(email);
    expect(await problem(acceptInvitation(joiner, { token: older }, null))).toBe("link_revoked");
    await expect(acceptInvitation(joiner, { token: newer }, null)).resolves.toMatchObject({ role: "member" });
  });

  it("an altered or cut link is refused (link_invalid) before or after any lookup", async () => {
    const { actor: owner } = await newAccount("inv-altered");
    const email = address("inv-tamper");
    const secret = await invite(owner, email);
    const joiner = await userWith(email);
    const flipped = `${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`;
    for (const token of [flipped, secret.slice(0, 20), `${secret}x`, "", "../../etc/passwd"]) {
      expect(await problem(acceptInvitation(joiner, { token }, null)), token).toBe("link_invalid");
    }
    expect(await checkInvitation(flipped)).toBe("invalid");
    expect(await db().membership.count({ where: { tenantId: owner.tenantId, userId: joiner.id } })).toBe(0);
    expect((await db().invitation.findFirstOrThrow({ where: { tenantId: owner.tenantId } })).acceptedAt).toBeNull();
  });

  it("a link used by a different signed-in account is refused with its own message, and the link still works for the invitee", async () => {
    const { actor: owner } = await newAccount("inv-other");
    const email = address("inv-right");
    const secret = await invite(owner, email);
    const { email: wrongEmail, userId: wrongId } = await newAccount("inv-wrong");
    const error = await acceptInvitation({ id: wrongId, email: wrongEmail }, { token: secret }, null).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error).toMatchObject({ code: "invitation_other_account" });
    expect((error as Error).message).toContain(`This invitation is for ${email}, but you are signed in as ${wrongEmail}.`);
    expect(await db().membership.count({ where: { tenantId: owner.tenantId, userId: wrongId } })).toBe(0);
    expect((await db().invitation.findFirstOrThrow({ where: { tenantId: owner.tenantId } })).acceptedAt).toBeNull();
    const joiner = await userWith(email);
    await expect(acceptInvitation(joiner, { token: secret }, null)).resolves.toMatchObject({ tenant: owner.tenantSlug });
  });

  it("someone who is already a member is told so, with no second row", async () => {
    const { actor: owner } = await newAccount("inv-member");
    const email = address("inv-already");
    const secret = await invite(owner, email);
    const joiner = await userWith(email);
    await db().membership.create({ data: { userId: joiner.id, tenantId: owner.tenantId, role: "viewer" } });
    const error = await acceptInvitation(joiner, { token: secret }, null).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: "already_member" });
    expect((error as Error).message).toContain("as a viewer");
    expect(await db().membership.count({ where: { tenantId: owner.tenantId, userId: joiner.id } })).toBe(1);
    // Inviting a member's address is refused up front.
    const again = await createInvitation(owner, { email, role: "owner" }, null).then(
      () => null,
      (e: unknown) => e,
    );
    expect(again).toMatchObject({ code: "already_member" });
  });

  it("limits invitations to 20 an hour per workspace", async () => {
    const { actor: owner } = await newAccount("inv-limit");
    for (let i = 0; i < 20; i++) await createInvitation(owner, { email: address(`inv-many-${i}`), role: "viewer" }, null);
    const refused = await createInvitation(owner, { email: address("inv-one-too-many"), role: "viewer" }, null).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(await db().invitation.count({ where: { tenantId: owner.tenantId } })).toBe(20);
  });

  it("refuses header injection through the address", async () => {
    const { actor: owner } = await newAccount("inv-inject");
    const refused = await createInvitation(owner, { email: "victim@example.com\r\nBcc: other@example.com", role: "viewer" }, null).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ name: "ZodError" });
    expect(await db().invitation.count({ where: { tenantId: owner.tenantId } })).toBe(0);
  });
});
