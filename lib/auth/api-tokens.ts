import "server-only";
import { createTokenBodySchema } from "@/lib/api/schemas";
import { recordAudit } from "@/lib/audit";
import { consumeTokenRequest } from "@/lib/auth/rate-limit";
import { AUTHORIZATION_MESSAGES, generateToken, parseAuthorization, secretMatches } from "@/lib/auth/token-format";
import { db } from "@/lib/db";
import { ForbiddenError, NotFoundError, QuotaError, UnauthenticatedError } from "@/lib/errors";
import { componentLogger } from "@/lib/log";
import { API_SCOPES, requireOwner, type ApiScope, type TenantActor, type TokenCredential } from "@/lib/tenancy/access";

const log = componentLogger("api-tokens");

/** Tokens a workspace may hold that are neither revoked nor expired. */
export const MAX_ACTIVE_TOKENS = 50;
/** Last-used time and address are written at most this often per token. */
export const LAST_USED_EVERY_MS = 60_000;

/** A token as its workspace's owners see it: never the secret, which is shown once at creation. */
export interface ApiTokenView {
  id: string;
  name: string;
  /** `pgd_<public id>_…`, enough to tell tokens apart and to match a leaked one. */
  hint: string;
  scopes: ApiScope[];
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  createdAt: string;
  createdBy: string | null;
}

type TokenRow = {
  id: string;
  name: string;
  publicId: string;
  scopes: string[];
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  createdAt: Date;
  createdBy: { name: string } | null;
};

const iso = (date: Date | null) => (date === null ? null : date.toISOString());

function viewOf(row: TokenRow): ApiTokenView {
  return {
    id: row.id,
    name: row.name,
    hint: `pgd_${row.publicId}_…`,
    scopes: scopesOf(row.scopes),
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
    lastUsedAt: iso(row.lastUsedAt),
    lastUsedIp: row.lastUsedIp,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy?.name ?? null,
  };
}

/** In the order of API_SCOPES, whatever order they were stored in; anything unknown is dropped. */
function scopesOf(stored: string[]): ApiScope[] {
  return API_SCOPES.filter((scope) => stored.includes(scope));
}

const viewSelect = {
  id: true,
  name: true,
  publicId: true,
  scopes: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
  lastUsedIp: true,
  createdAt: true,
  createdBy: { select: { name: true } },
} as const;

/**
 * Creates a token for the actor's workspace: owners only. Returns the token
 * itself, which is not stored anywhere and cannot be shown again.
 */
export async function createApiToken(actor: TenantActor, raw: unknown, ip: string | null): Promise<{ token: string; view: ApiTokenView }> {
  requireOwner(actor);
  // The body of `POST …/tokens`, parsed with the schema the API document describes.
  const input = createTokenBodySchema.parse(raw);
  const minted = generateToken();
  const row = await db().$transaction(async (tx) => {
    // One creation at a time per workspace, so two cannot both pass the count.
    await tx.$queryRaw`SELECT id FROM "Tenant" WHERE id = ${actor.tenantId} FOR UPDATE`;
    const active = await tx.apiToken.count({
      where: { tenantId: actor.tenantId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
    });
    if (active >= MAX_ACTIVE_TOKENS) {
      throw new QuotaError("quota_tokens", `This workspace already has ${MAX_ACTIVE_TOKENS} active API tokens. Revoke one first.`);
    }
    const created = await tx.apiToken.create({
      data: {
        tenantId: actor.tenantId,
        publicId: minted.publicId,
        secretHash: minted.secretHash,
        name: input.name,
        scopes: input.scopes,
        expiresAt: input.expiresAt,
        createdById: actor.userId,
      },
      select: viewSelect,
    });
    await recordAudit(
      {
        action: "token.create",
        outcome: "success",
        tenantId: actor.tenantId,
        actorId: actor.userId,
        target: created.name,
        ip,
        details: { tokenId: created.id, publicId: created.publicId, scopes: input.scopes, expiresAt: iso(input.expiresAt) },
      },
      tx,
    );
    return created;
  });
  return { token: minted.token, view: viewOf(row) };
}

/** The workspace's tokens, newest first, revoked ones included (they say when). Owners only. */
export async function listApiTokens(actor: TenantActor): Promise<ApiTokenView[]> {
  requireOwner(actor);
  const rows = await db().apiToken.findMany({ where: { tenantId: actor.tenantId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], select: viewSelect });
  return rows.map(viewOf);
}

/** Revokes a token of the actor's workspace; its next request is refused. Owners only; revoking twice changes nothing. */
export async function revokeApiToken(actor: TenantActor, tokenId: string, ip: string | null): Promise<ApiTokenView> {
  requireOwner(actor);
  return db().$transaction(async (tx) => {
    const found = await tx.apiToken.findFirst({ where: { id: tokenId, tenantId: actor.tenantId }, select: { id: true, revokedAt: true } });
    if (!found) throw new NotFoundError("Token not found.");
    if (found.revokedAt) return viewOf(await tx.apiToken.findUniqueOrThrow({ where: { id: found.id }, select: viewSelect }));
    const revoked = await tx.apiToken.update({ where: { id: found.id }, data: { revokedAt: new Date() }, select: viewSelect });
    await recordAudit(
      {
        action: "token.revoke",
        outcome: "success",
        tenantId: actor.tenantId,
        actorId: actor.userId,
        target: revoked.name,
        ip,
        details: { tokenId: revoked.id, publicId: revoked.publicId },
      },
      tx,
    );
    return viewOf(revoked);
  });
}

/** What a token is, for `GET /api/token`. */
export interface TokenIdentity {
  credential: TokenCredential;
  tenant: { id: string; slug: string; name: string };
  expiresAt: string | null;
}

export interface BearerRequest {
  /** The Authorization header as sent (present, possibly empty). */
  authorization: string;
  ip: string | null;
  userAgent: string | null;
}

const unauthenticated = (code: string, message: string) => new UnauthenticatedError(message, code);

/** `pagoda-cli/<version>` is the CLI; any other client of a token is recorded as the API. */
export function clientOf(userAgent: string | null): "cli" | "api" {
  return userAgent !== null && /^pagoda-cli\/\S+/.test(userAgent) ? "cli" : "api";
}

/**
 * Who an `Authorization: Bearer` header speaks for. Every refusal is 401
 * and says which one it is: malformed, unknown, revoked, expired. A wrong
 * secret for a real public id is "unknown", like an id that does not exist,
 * and only the holder of the right secret learns that a token is revoked or
 * expired. Each accepted request counts against the token's rate limit.
 */
export async function authenticateBearer(request: BearerRequest): Promise<TokenIdentity> {
  const parsed = parseAuthorization(request.authorization);
  if ("problem" in parsed) throw unauthenticated("token_malformed", AUTHORIZATION_MESSAGES[parsed.problem]);
  const row = await db().apiToken.findUnique({
    where: { publicId: parsed.token.publicId },
    select: {
      id: true,
      publicId: true,
      secretHash: true,
      name: true,
      scopes: true,
      expiresAt: true,
      revokedAt: true,
      lastUsedAt: true,
      tenant: { select: { id: true, slug: true, name: true } },
    },
  });
  // A missing row is still compared against, so a wrong id and a wrong secret take the same work.
  const matches = secretMatches(parsed.token.secret, row?.secretHash ?? "");
  if (!row || !matches) {
    throw unauthenticated("token_unknown", "This API token is not known. Check that it was copied whole, or create a new one in the workspace settings.");
  }
  if (row.revokedAt) throw unauthenticated("token_revoked", "This API token has been revoked.");
  const now = new Date();
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) {
    throw unauthenticated("token_expired", `This API token expired on ${row.expiresAt.toISOString()}.`);
  }
  await consumeTokenRequest(row.id);
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= LAST_USED_EVERY_MS) await noteUse(row.id, now, request.ip);
  return {
    credential: { id: row.id, publicId: row.publicId, name: row.name, scopes: scopesOf(row.scopes), client: clientOf(request.userAgent) },
    tenant: row.tenant,
    expiresAt: iso(row.expiresAt),
  };
}

/**
 * Records the last use. Conditional, so that of several processes using a
 * token in the same minute only one writes; a failure to write it is logged
 * and does not refuse the request, which is already authenticated.
 */
async function noteUse(tokenId: string, now: Date, ip: string | null): Promise<void> {
  try {
    await db().apiToken.updateMany({
      where: { id: tokenId, OR: [{ lastUsedAt: null }, { lastUsedAt: { lte: new Date(now.getTime() - LAST_USED_EVERY_MS) } }] },
      data: { lastUsedAt: now, lastUsedIp: ip === null ? null : ip.slice(0, 64) },
    });
  } catch (error) {
    log.error({ err: error, tokenId }, "could not record a token's last use");
  }
}

/** What a route needs from its caller: a scope of a token, or a person signed in to the dashboard. */
export type Need = ApiScope | "session";

/**
 * The actor for a token acting in `tenantSlug`. Another workspace's slug is
 * answered exactly as a workspace that does not exist (404), before any
 * scope is looked at; then the scope, or the refusal of a dashboard-only
 * action, is 403.
 */
export function tokenActorFor(identity: TokenIdentity, tenantSlug: string, need: Need): TenantActor {
  if (identity.tenant.slug !== tenantSlug) throw new NotFoundError("Workspace not found.");
  const { credential } = identity;
  if (need === "session") {
    throw new ForbiddenError("token_not_allowed", "API tokens cannot do this. Sign in to the dashboard to do it.");
  }
  if (!credential.scopes.includes(need)) {
    const verb = need === "deploy" ? "deploy" : "read this workspace";
    throw new ForbiddenError("token_scope", `This token cannot ${verb}: it has the ${credential.scopes.join(" and ")} scope only.`);
  }
  return { userId: null, tenantId: identity.tenant.id, tenantSlug: identity.tenant.slug, role: "member", token: credential };
}
