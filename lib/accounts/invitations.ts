import "server-only";
import { randomBytes } from "node:crypto";
import { acceptInvitationBodySchema, createInvitationBodySchema, type InvitationView } from "@/lib/api/member-schemas";
import { recordAudit } from "@/lib/audit";
import { consumeAttempt } from "@/lib/auth/rate-limit";
import { getConfig } from "@/lib/config";
import { db } from "@/lib/db";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "@/lib/errors";
import { Prisma, type Role } from "@/lib/generated/prisma/client";
import { componentLogger } from "@/lib/log";
import { invitationMessage } from "@/lib/mail/messages";
import { MailDisabledError, mailEnabled, sendMail } from "@/lib/mail/transport";
import { requireOwner, rolePhrase, type TenantActor } from "@/lib/tenancy/access";
import { hashEmailToken } from "@/lib/accounts/email-tokens";

/**
 * Invitations into a workspace (docs/accounts.md, "Members and roles"). The
 * link carries 32 random bytes; the row keeps only their SHA-256, so a copy
 * of the database lets nobody in. Opening the link only reads; accepting is
 * a POST by the signed-in account that has the invited address, and spends
 * the link with one conditional UPDATE, so two requests with one link cannot
 * both join.
 */

const log = componentLogger("invitations");

export const INVITATION_LIFETIME_DAYS = 7;
const LIFETIME_MS = INVITATION_LIFETIME_DAYS * 24 * 60 * 60 * 1000;

/** base64url of 32 bytes, exactly: anything else cannot be ours and is refused before any lookup. */
const SECRET_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export type InvitationProblem = "invalid" | "expired" | "used" | "revoked";

const PROBLEM_MESSAGES: Record<InvitationProblem, string> = {
  invalid: "This invitation link is not valid: it may have been cut short or changed. Copy the whole link from the email, or ask for a new invitation.",
  expired: "This invitation has expired. Ask an owner of the workspace to invite you again.",
  used: "This invitation has already been used, and works only once. If it was not you, ask an owner of the workspace for a new one.",
  revoked: "This invitation was withdrawn, or replaced by a newer one sent to the same address. Use the newest invitation email, or ask for a new one.",
};

/** Why an invitation link cannot be used (400 `link_<problem>`). */
export class InvitationLinkError extends ValidationError {
  constructor(readonly problem: InvitationProblem) {
    super(`link_${problem}`, PROBLEM_MESSAGES[problem]);
  }
}

export function invitationLink(baseUrl: string, secret: string): string {
  return new URL(`/invite/${secret}`, baseUrl).toString();
}

const viewSelect = {
  id: true,
  email: true,
  role: true,
  createdAt: true,
  expiresAt: true,
  acceptedAt: true,
  revokedAt: true,
  invitedBy: { select: { name: true } },
} satisfies Prisma.InvitationSelect;

type ViewRow = Prisma.InvitationGetPayload<{ select: typeof viewSelect }>;

function toView(row: ViewRow, now = new Date()): InvitationView {
  const state = row.acceptedAt ? "accepted" : row.revokedAt ? "revoked" : row.expiresAt <= now ? "expired" : "pending";
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    invitedBy: row.invitedBy?.name ?? null,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    state,
  };
}

/**
 * An owner invites an address with a role. The request counts against the
 * workspace's and the inviter's hourly limits first. An address that already
 * belongs to a member is refused; a pending invitation to the same address
 * is replaced (its link stops working), so only the newest email opens. If
 * the mail server refuses, the new invitation is removed again and the
 * answer says so: an invitation nobody received helps nobody.
 */
export async function createInvitation(actor: TenantActor, raw: unknown, ip: string | null): Promise<InvitationView> {
  requireOwner(actor);
  const { email, role } = createInvitationBodySchema.parse(raw);
  if (!mailEnabled()) throw new MailDisabledError("This Pagoda server is not set up to send email, so it cannot send invitations. Ask its administrator.");
  await consumeAttempt({ inviteTenant: actor.tenantId, inviteUser: actor.userId! });
  const already = await db().membership.findFirst({ where: { tenantId: actor.tenantId, user: { email } }, select: { id: true } });
  if (already)
    throw new ConflictError("already_member", `${email} is already a member of this workspace. Change their role on the members page instead.`, {
      email: "Already a member.",
    });

  const secret = randomBytes(32).toString("base64url");
  const now = new Date();
  const { row, tenant, inviter } = await db().$transaction(async (tx) => {
    // The tenant's row orders two invitations of one address, so exactly one stays pending.
    const [tenant] = await tx.$queryRaw<{ name: string }[]>`SELECT name FROM "Tenant" WHERE id = ${actor.tenantId} FOR UPDATE`;
    await tx.invitation.updateMany({
      where: { tenantId: actor.tenantId, email, acceptedAt: null, revokedAt: null },
      data: { revokedAt: now },
    });
    const row = await tx.invitation.create({
      data: {
        tenantId: actor.tenantId,
        email,
        role,
        tokenHash: hashEmailToken(secret),
        invitedById: actor.userId,
        expiresAt: new Date(now.getTime() + LIFETIME_MS),
        createdAt: now,
      },
      select: viewSelect,
    });
    const inviter = await tx.user.findUniqueOrThrow({ where: { id: actor.userId! }, select: { name: true } });
    return { row, tenant: tenant!, inviter };
  });

  const url = invitationLink(getConfig().NEXTAUTH_URL, secret);
  try {
    await sendMail(invitationMessage({ name: "", address: email }, { workspace: tenant.name, inviter: inviter.name, role }, url, INVITATION_LIFETIME_DAYS), {
      purpose: "invitation",
      userId: actor.userId!,
    });
  } catch (error) {
    await db()
      .invitation.delete({ where: { id: row.id } })
      .catch((cleanup: unknown) => log.error({ err: cleanup, invitationId: row.id }, "could not remove an invitation whose email failed"));
    await recordAudit({
      action: "invitation.created",
      outcome: "failure",
      tenantId: actor.tenantId,
      actorId: actor.userId,
      target: email,
      ip,
      details: { role, reason: "mail_unavailable" },
    });
    throw error;
  }
  await recordAudit({
    action: "invitation.created",
    outcome: "success",
    tenantId: actor.tenantId,
    actorId: actor.userId,
    target: email,
    ip,
    details: { role, invitationId: row.id },
  });
  return toView(row, now);
}

/** The workspace's invitations that are still open or ran out, newest first; accepted and revoked ones leave the list. */
export async function listInvitations(actor: TenantActor): Promise<InvitationView[]> {
  requireOwner(actor);
  const rows = await db().invitation.findMany({
    where: { tenantId: actor.tenantId, acceptedAt: null, revokedAt: null },
    orderBy: { createdAt: "desc" },
    take: 200,
    select: viewSelect,
  });
  const now = new Date();
  return rows.map((row) => toView(row, now));
}

/** Withdraws an open invitation: its link stops working. Revoking twice changes nothing; an accepted one cannot be revoked (remove the member instead). */
export async function revokeInvitation(actor: TenantActor, invitationId: string, ip: string | null): Promise<InvitationView> {
  requireOwner(actor);
  const now = new Date();
  const changed = await db().invitation.updateMany({
    where: { id: invitationId, tenantId: actor.tenantId, acceptedAt: null, revokedAt: null },
    data: { revokedAt: now },
  });
  const row = await db().invitation.findFirst({ where: { id: invitationId, tenantId: actor.tenantId }, select: viewSelect });
  if (!row) throw new NotFoundError("Invitation not found.");
  if (row.acceptedAt) throw new ConflictError("invitation_accepted", "This invitation was already accepted. Remove the member instead.");
  if (changed.count === 1) {
    await recordAudit({
      action: "invitation.revoked",
      outcome: "success",
      tenantId: actor.tenantId,
      actorId: actor.userId,
      target: row.email,
      ip,
      details: { invitationId },
    });
  }
  return toView(row, now);
}

export interface OpenInvitation {
  id: string;
  email: string;
  role: Role;
  tenantId: string;
  tenantSlug: string;
  tenantName: string;
  inviter: string | null;
  expiresAt: Date;
}

const openSelect = {
  id: true,
  email: true,
  role: true,
  expiresAt: true,
  acceptedAt: true,
  revokedAt: true,
  tenantId: true,
  tenant: { select: { slug: true, name: true } },
  invitedBy: { select: { name: true } },
} satisfies Prisma.InvitationSelect;

type OpenRow = Prisma.InvitationGetPayload<{ select: typeof openSelect }>;

function problemOf(row: OpenRow | null, now: Date): InvitationProblem | null {
  if (!row) return "invalid";
  if (row.acceptedAt) return "used";
  if (row.revokedAt) return "revoked";
  if (row.expiresAt <= now) return "expired";
  return null;
}

function openOf(row: OpenRow): OpenInvitation {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    tenantId: row.tenantId,
    tenantSlug: row.tenant.slug,
    tenantName: row.tenant.name,
    inviter: row.invitedBy?.name ?? null,
    expiresAt: row.expiresAt,
  };
}

async function findBySecret(secret: unknown, reader: Pick<Prisma.TransactionClient, "invitation"> = db()): Promise<OpenRow | null> {
  if (typeof secret !== "string" || !SECRET_FORMAT.test(secret)) return null;
  return reader.invitation.findUnique({ where: { tokenHash: hashEmailToken(secret) }, select: openSelect });
}

/** What the invitation page shows. Reads only: a mail scanner opening the link spends nothing. */
export async function checkInvitation(secret: unknown, now = new Date()): Promise<OpenInvitation | InvitationProblem> {
  const row = await findBySecret(secret);
  return problemOf(row, now) ?? openOf(row!);
}

/**
 * The signed-in person accepts: their account's address must be the
 * invited one (another account is refused and nothing changes), the link is
 * spent by one conditional UPDATE, the membership is made, and the address
 * counts as verified, since the link that reached it proves it. Someone who
 * is already a member is told so and gets no second membership.
 */
export async function acceptInvitation(user: { id: string; email: string }, raw: unknown, ip: string | null): Promise<{ tenant: string; role: Role }> {
  const { token } = acceptInvitationBodySchema.parse(raw);
  const now = new Date();
  try {
    return await db().$transaction(async (tx) => {
      const row = await findBySecret(token, tx);
      const problem = problemOf(row, now);
      if (problem) throw new InvitationLinkError(problem);
      const invitation = openOf(row!);
      if (invitation.email !== user.email.toLowerCase()) {
        throw new ForbiddenError(
          "invitation_other_account",
          `This invitation is for ${invitation.email}, but you are signed in as ${user.email}. Sign out, then open the link again and sign in (or sign up) with ${invitation.email}.`,
        );
      }
      const member = await tx.membership.findUnique({ where: { userId_tenantId: { userId: user.id, tenantId: invitation.tenantId } }, select: { role: true } });
      if (member) throw alreadyMember(invitation.tenantName, member.role);
      const spent = await tx.invitation.updateMany({
        where: { id: invitation.id, acceptedAt: null, revokedAt: null, expiresAt: { gt: now } },
        data: { acceptedAt: now, acceptedById: user.id },
      });
      // Another request spent or revoked it between the read and this write.
      if (spent.count !== 1) throw new InvitationLinkError("used");
      await tx.membership.create({ data: { userId: user.id, tenantId: invitation.tenantId, role: invitation.role } });
      await tx.user.updateMany({ where: { id: user.id, emailVerifiedAt: null }, data: { emailVerifiedAt: now } });
      await recordAudit(
        {
          action: "invitation.accepted",
          outcome: "success",
          tenantId: invitation.tenantId,
          actorId: user.id,
          target: invitation.email,
          ip,
          details: { role: invitation.role, invitationId: invitation.id },
        },
        tx,
      );
      return { tenant: invitation.tenantSlug, role: invitation.role };
    });
  } catch (error) {
    // Two accepts of one person racing: the membership's unique index stops the second.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") throw alreadyMember(null, null);
    if (error instanceof InvitationLinkError || (error instanceof ForbiddenError && error.code === "invitation_other_account")) {
      await recordAudit({ action: "invitation.accepted", outcome: "failure", actorId: user.id, ip, details: { reason: error.code } });
    }
    throw error;
  }
}

function alreadyMember(workspace: string | null, role: Role | null): ConflictError {
  const where = workspace ? `“${workspace}”` : "this workspace";
  return new ConflictError("already_member", `You are already a member of ${where}${role ? `, as ${rolePhrase(role)}` : ""}. Nothing changed.`);
}
