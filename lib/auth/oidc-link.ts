import "server-only";
import { decode, encode } from "next-auth/jwt";
import { Prisma } from "@/lib/generated/prisma/client";
import { getConfig } from "@/lib/config";
import { db } from "@/lib/db";
import { recordAudit } from "@/lib/audit";
import { nowSeconds, SessionEndedError, userForClaims, type SessionClaims } from "@/lib/auth/session-token";
import { ConflictError, ForbiddenError, UnauthenticatedError, ValidationError } from "@/lib/errors";

/** How long the person has to sign in with their password and confirm. */
const PENDING_LINK_SECONDS = 15 * 60;

/** An identity waiting to be linked to the account that has its address. */
export interface PendingLink {
  issuer: string;
  subject: string;
  email: string;
  userId: string;
  /** Unix seconds when the provider vouched for the identity. */
  issuedAt: number;
}

/**
 * Its own key: a pending link never decrypts as a session token, nor a
 * session token as a pending link, though both come from NEXTAUTH_SECRET.
 */
const linkSecret = () => `${getConfig().NEXTAUTH_SECRET}:oidc-link`;

/**
 * The pending link, sealed (encrypted and authenticated, like the session
 * cookie) so that neither the identity nor the account can be changed on
 * the way, and short-lived. It only names what would be linked: linking
 * still needs a password sign-in to the account, made after it was issued.
 */
export async function issuePendingLink(link: Omit<PendingLink, "issuedAt">, now = nowSeconds()): Promise<string> {
  return encode({ token: { purpose: "oidc-link", ...link, issuedAt: now }, secret: linkSecret(), maxAge: PENDING_LINK_SECONDS });
}

const linkInvalid = () =>
  new ValidationError("link_invalid", "This request to link an identity is not valid or has expired. Sign in with single sign-on again to start over.");

/** The pending link in `sealed`, or `link_invalid` for anything tampered with, expired or not one. */
export async function readPendingLink(sealed: unknown): Promise<PendingLink> {
  if (typeof sealed !== "string" || sealed.length === 0 || sealed.length > 4096) throw linkInvalid();
  let claims: Record<string, unknown> | null;
  try {
    claims = (await decode({ token: sealed, secret: linkSecret() })) as Record<string, unknown> | null;
  } catch {
    throw linkInvalid();
  }
  if (!claims || claims.purpose !== "oidc-link") throw linkInvalid();
  const { issuer, subject, email, userId, issuedAt } = claims;
  if (typeof issuer !== "string" || typeof subject !== "string" || typeof email !== "string" || typeof userId !== "string" || typeof issuedAt !== "number") {
    throw linkInvalid();
  }
  if (nowSeconds() - issuedAt > PENDING_LINK_SECONDS) throw linkInvalid();
  return { issuer, subject, email, userId, issuedAt };
}

/** Whether the session in `sessionToken` is a sign-in to the pending link's account made after the link was issued. */
type LinkProof = { ok: true } | { ok: false; reason: "signed_out" | "other_account" | "stale_session" };

export async function linkProof(link: PendingLink, sessionToken: string | undefined): Promise<LinkProof> {
  if (!sessionToken) return { ok: false, reason: "signed_out" };
  let claims: (SessionClaims & Record<string, unknown>) | null;
  try {
    claims = await decode({ token: sessionToken, secret: getConfig().NEXTAUTH_SECRET });
  } catch {
    return { ok: false, reason: "signed_out" };
  }
  if (!claims) return { ok: false, reason: "signed_out" };
  let user;
  try {
    user = await userForClaims(claims);
  } catch (error) {
    if (error instanceof SessionEndedError) return { ok: false, reason: "signed_out" };
    throw error;
  }
  if (user.id !== link.userId || user.email !== link.email) return { ok: false, reason: "other_account" };
  // A session from before the provider's answer proves nothing about the person at the keyboard now.
  if ((claims.signedInAt ?? 0) < link.issuedAt) return { ok: false, reason: "stale_session" };
  return { ok: true };
}

/**
 * Links the pending identity to the signed-in account, once the session
 * proves a password sign-in to it made after the link was issued. Returns
 * the slug of a workspace to land in.
 */
export async function confirmOidcLink(sealed: unknown, sessionToken: string | undefined, ip: string | null): Promise<{ tenant: string | null }> {
  const link = await readPendingLink(sealed);
  const proof = await linkProof(link, sessionToken);
  if (!proof.ok) {
    await recordAudit({
      action: "oidc.linked",
      outcome: "failure",
      actorId: link.userId,
      target: link.email,
      ip,
      details: { issuer: link.issuer, subject: link.subject, reason: proof.reason },
    });
    if (proof.reason === "signed_out")
      throw new UnauthenticatedError("Sign in with the password of the account first, then confirm the link.", "unauthenticated");
    if (proof.reason === "other_account") {
      throw new ForbiddenError(
        "other_account",
        `You are signed in to a different account. Sign out, then sign in as ${link.email} with its password to link this identity.`,
      );
    }
    throw new ForbiddenError("proof_required", `Sign in again with the password of ${link.email} to prove the account is yours, then confirm the link.`);
  }
  const already = await db().oidcIdentity.findFirst({ where: { userId: link.userId, issuer: link.issuer }, select: { subject: true } });
  if (already && already.subject !== link.subject) {
    throw new ConflictError("already_linked", "Your account is already linked to another identity at this provider. Sign in with that one.");
  }
  try {
    await db().$transaction(async (tx) => {
      await tx.oidcIdentity.create({ data: { userId: link.userId, issuer: link.issuer, subject: link.subject, email: link.email } });
      await recordAudit(
        { action: "oidc.linked", outcome: "success", actorId: link.userId, target: link.email, ip, details: { issuer: link.issuer, subject: link.subject } },
        tx,
      );
    });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
      const owner = await db().oidcIdentity.findUnique({ where: { issuer_subject: { issuer: link.issuer, subject: link.subject } }, select: { userId: true } });
      if (owner?.userId !== link.userId) throw new ConflictError("identity_taken", "This identity is already linked to another Pagoda account.");
      // Linked already by a second click: the same answer as the first.
    } else {
      throw error;
    }
  }
  const first = await db().membership.findFirst({
    where: { userId: link.userId },
    orderBy: { createdAt: "asc" },
    select: { tenant: { select: { slug: true } } },
  });
  return { tenant: first?.tenant.slug ?? null };
}
