import "server-only";
import { cache } from "react";
import { TOKEN_SCOPES } from "@/lib/api/schemas";
import { db } from "@/lib/db";
import type { Role } from "@/lib/generated/prisma/client";
import { ForbiddenError, NotFoundError } from "@/lib/errors";

/** What an API token may do: read a workspace's sites and deploys, and deploy to it. */
export const API_SCOPES = TOKEN_SCOPES;
export type ApiScope = (typeof API_SCOPES)[number];

/** The API token a request was authenticated with (lib/auth/api-tokens.ts). */
export interface TokenCredential {
  /** ApiToken.id */
  id: string;
  publicId: string;
  name: string;
  scopes: ApiScope[];
  /** `cli` when the request came from the pagoda CLI (its User-Agent), `api` otherwise. */
  client: "cli" | "api";
}

/**
 * The caller acting inside one tenant. Every tenant-owned query takes one of
 * these, so a query cannot be written without saying whose data it reads.
 */
export interface TenantActor {
  /** The signed-in person; null when an API token acts, which is nobody's session. */
  userId: string | null;
  tenantId: string;
  tenantSlug: string;
  role: Role;
  /** Present only when the request was authenticated by an API token rather than a browser session. */
  token?: TokenCredential;
}

export interface WorkspaceSummary {
  slug: string;
  name: string;
  role: Role;
}

interface MembershipRow extends WorkspaceSummary {
  tenantId: string;
}

/**
 * Every workspace the person belongs to, oldest membership first: one
 * statement (Prisma would send two for the nested tenant), cached per
 * request, so a workspace page's actor, its layout's switcher and its body
 * share it.
 */
const membershipsOf = cache(
  (userId: string): Promise<MembershipRow[]> => db().$queryRaw<MembershipRow[]>`
    SELECT m.role, t.id AS "tenantId", t.slug, t.name
    FROM "Membership" m JOIN "Tenant" t ON t.id = m."tenantId"
    WHERE m."userId" = ${userId}
    ORDER BY m."createdAt", m.id`,
);

/**
 * Resolves the caller's membership of a tenant. A tenant the caller does not
 * belong to is indistinguishable from one that does not exist: both are 404.
 */
export const actorFor = cache(async (userId: string, tenantSlug: string): Promise<TenantActor> => {
  const membership = (await membershipsOf(userId)).find((m) => m.slug === tenantSlug);
  if (!membership) throw new NotFoundError("Workspace not found.");
  return { userId, tenantId: membership.tenantId, tenantSlug: membership.slug, role: membership.role };
});

export async function workspacesOf(userId: string): Promise<WorkspaceSummary[]> {
  return (await membershipsOf(userId)).map(({ slug, name, role }) => ({ slug, name, role }));
}

/**
 * Roles in a workspace, weakest first: a viewer reads, a member also changes
 * sites and deploys, an owner also runs the workspace (members, invitations,
 * tokens, domains, deleting). Each role can do everything of the ones before it.
 */
export const ROLES = ["viewer", "member", "owner"] as const satisfies readonly Role[];

const ROLE_PHRASE: Record<Role, string> = { viewer: "a viewer", member: "a member", owner: "an owner" };

/** The role as a sentence names it ("an owner"). */
export function rolePhrase(role: Role): string {
  return ROLE_PHRASE[role];
}

/** Whether `role` is at least `needed`. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/**
 * Refuses an actor whose role is weaker than `needed` (403 `role_required`,
 * naming the role). An API token is never an owner: what it may do is its
 * scopes, checked when it is resolved, so an owner-only action refuses any token.
 */
export function requireRole(actor: TenantActor, needed: Exclude<Role, "viewer">): void {
  if (needed === "owner" && actor.token) {
    throw new ForbiddenError("token_not_allowed", "API tokens cannot do this. Sign in to the dashboard as an owner of this workspace.");
  }
  if (roleAtLeast(actor.role, needed)) return;
  const who = needed === "owner" ? "owners" : "members and owners";
  throw new ForbiddenError("role_required", `Only ${who} of this workspace can do this. You are ${ROLE_PHRASE[actor.role]}: ask an owner if you need it.`);
}

/** Only owners may do things that cannot be undone, such as deleting a site, or that run the workspace. */
export function requireOwner(actor: TenantActor): void {
  requireRole(actor, "owner");
}

/** What a page may offer this actor; the domain functions refuse the rest whatever a page shows. */
export function abilitiesOf(actor: TenantActor): { change: boolean; administer: boolean } {
  return { change: roleAtLeast(actor.role, "member"), administer: !actor.token && actor.role === "owner" };
}

/** How a deploy by this actor is recorded. */
export function deploySourceOf(actor: TenantActor): "browser" | "cli" | "api" {
  return actor.token ? actor.token.client : "browser";
}
