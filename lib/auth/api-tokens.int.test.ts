import { beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { authenticateBearer, createApiToken, listApiTokens, MAX_ACTIVE_TOKENS, revokeApiToken } from "@/lib/auth/api-tokens";
import { RateLimitedError } from "@/lib/auth/rate-limit";
import { hashSecret, splitToken } from "@/lib/auth/token-format";
import { db } from "@/lib/db";
import { DomainError } from "@/lib/errors";
import { actorFor, type TenantActor } from "@/lib/tenancy/access";
import { newAccount } from "@/tests/support/accounts";

// Low enough to reach in a test; read when the configuration is first used.
process.env.PAGODA_API_TOKEN_REQUESTS_PER_MINUTE = "5";

let owner: TenantActor;
let member: TenantActor;

beforeAll(async () => {
  ({ actor: owner } = await newAccount("token-owner"));
  const helper = await newAccount("token-member");
  await db().membership.create({ data: { userId: helper.userId, tenantId: owner.tenantId, role: "member" } });
  member = await actorFor(helper.userId, owner.tenantSlug);
});

async function refusal(work: Promise<unknown>): Promise<{ code: string; message: string; name: string }> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  if (error instanceof ZodError) return { code: "invalid_input", message: error.issues[0]!.message, name: error.name };
  if (!(error instanceof Error)) throw new Error("expected a refusal");
  return { code: (error as DomainError).code, message: error.message, name: error.name };
}

const use = (token: string, ip = "203.0.113.7") => authenticateBearer({ authorization: `Bearer ${token}`, ip, userAgent: "curl/8" });

describe("creating and revoking tokens", () => {
  it("shows the token once, stores only the hash of its secret, and audits the creation", async () => {
    const { token, view } = await createApiToken(owner, { name: "  ci-main ", scopes: ["deploy", "read"], expiresAt: null }, "198.51.100.1");
    expect(view).toMatchObject({ name: "ci-main", scopes: ["read", "deploy"], expiresAt: null, revokedAt: null, lastUsedAt: null, createdBy: "token-owner" });
    const { publicId, secret } = splitToken(token)!;
    expect(view.hint).toBe(`pgd_${publicId}_…`);
    const row = await db().apiToken.findUniqueOrThrow({ where: { id: view.id } });
    expect(row.secretHash).toBe(hashSecret(secret));
    expect(JSON.stringify(row)).not.toContain(secret);
    const listed = await listApiTokens(owner);
    expect(listed.find((t) => t.id === view.id)).toEqual(view);
    expect(JSON.stringify(listed)).not.toContain(secret);
    const audit = await db().auditEvent.findFirstOrThrow({ where: { tenantId: owner.tenantId, action: "token.create" }, orderBy: { createdAt: "desc" } });
    expect(audit).toMatchObject({ actorId: owner.userId, target: "ci-main", outcome: "success", ip: "198.51.100.1" });
    expect(audit.details).toMatchObject({ tokenId: view.id, publicId, scopes: ["deploy", "read"] });
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it.each([
    ["no name", { name: " ", scopes: ["read"] }, "Give the token a name."],
    [
      "a name with a newline",
      { name: "a\nb", scopes: ["read"] },
      "Token names cannot contain control characters, text-direction overrides or broken characters.",
    ],
    ["no scope", { name: "x", scopes: [] }, "Choose at least one scope."],
    ["an unknown scope", { name: "x", scopes: ["admin"] }, 'Scopes are "read" and "deploy".'],
    ["a scope twice", { name: "x", scopes: ["read", "read"] }, "Each scope can be given once."],
    ["an expiry in the past", { name: "x", scopes: ["read"], expiresAt: "2020-01-01T00:00:00Z" }, "The expiry must be in the future."],
    ["an expiry that is not a date", { name: "x", scopes: ["read"], expiresAt: "tomorrow" }, "Give the expiry as an ISO date and time, or leave it empty."],
    ["an expiry years away", { name: "x", scopes: ["read"], expiresAt: "2099-01-01T00:00:00Z" }, "A token can last at most 366 days."],
  ])("refuses %s and stores nothing", async (_label, input, message) => {
    const before = await db().apiToken.count({ where: { tenantId: owner.tenantId } });
    expect((await refusal(createApiToken(owner, input, null))).message).toBe(message);
    expect(await db().apiToken.count({ where: { tenantId: owner.tenantId } })).toBe(before);
  });

  it("lets only owners create, list and revoke tokens", async () => {
    const { view } = await createApiToken(owner, { name: "owned", scopes: ["read"] }, null);
    for (const work of [createApiToken(member, { name: "mine", scopes: ["read"] }, null), listApiTokens(member), revokeApiToken(member, view.id, null)]) {
      expect(await refusal(work)).toMatchObject({
        code: "role_required",
        message: "Only owners of this workspace can do this. You are a member: ask an owner if you need it.",
      });
    }
    expect((await db().apiToken.findUniqueOrThrow({ where: { id: view.id } })).revokedAt).toBeNull();
  });

  it("revokes once, audits it, and answers another workspace's token as not found", async () => {
    const { view } = await createApiToken(owner, { name: "short-lived", scopes: ["read"] }, null);
    const { actor: stranger } = await newAccount("stranger");
    expect(await refusal(revokeApiToken(stranger, view.id, null))).toMatchObject({ code: "not_found", message: "Token not found." });
    const revoked = await revokeApiToken(owner, view.id, "198.51.100.2");
    expect(revoked.revokedAt).not.toBeNull();
    expect((await revokeApiToken(owner, view.id, null)).revokedAt).toBe(revoked.revokedAt);
    const events = await db().auditEvent.findMany({ where: { tenantId: owner.tenantId, action: "token.revoke", target: "short-lived" } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: owner.userId, ip: "198.51.100.2", details: { tokenId: view.id } });
  });

  it(`keeps a workspace to ${MAX_ACTIVE_TOKENS} active tokens`, async () => {
    const { actor } = await newAccount("many-tokens");
    for (let i = 0; i < MAX_ACTIVE_TOKENS; i += 1) await createApiToken(actor, { name: `t${i}`, scopes: ["read"] }, null);
    expect(await refusal(createApiToken(actor, { name: "one more", scopes: ["read"] }, null))).toMatchObject({ code: "quota_tokens" });
    await revokeApiToken(actor, (await listApiTokens(actor))[0]!.id, null);
    await createApiToken(actor, { name: "one more", scopes: ["read"] }, null);
  });
});

describe("using a token", () => {
  it("records the last use at most once a minute, without a write for every request", async () => {
    const { token, view } = await createApiToken(owner, { name: "used", scopes: ["read"] }, null);
    await use(token, "203.0.113.1");
    const first = await db().apiToken.findUniqueOrThrow({ where: { id: view.id } });
    expect(first.lastUsedIp).toBe("203.0.113.1");
    expect(first.lastUsedAt).not.toBeNull();
    await use(token, "203.0.113.2");
    const second = await db().apiToken.findUniqueOrThrow({ where: { id: view.id } });
    expect(second.lastUsedAt).toEqual(first.lastUsedAt);
    expect(second.lastUsedIp).toBe("203.0.113.1");
    // A minute on, the next use is recorded.
    await db().apiToken.update({ where: { id: view.id }, data: { lastUsedAt: new Date(first.lastUsedAt!.getTime() - 61_000) } });
    await use(token, "203.0.113.3");
    const third = await db().apiToken.findUniqueOrThrow({ where: { id: view.id } });
    expect(third.lastUsedIp).toBe("203.0.113.3");
    expect(third.lastUsedAt!.getTime()).toBeGreaterThan(first.lastUsedAt!.getTime() - 61_000);
  });

  it("limits the requests of each token, with a retry time, leaving other tokens alone", async () => {
    const busy = await createApiToken(owner, { name: "busy", scopes: ["read"] }, null);
    const calm = await createApiToken(owner, { name: "calm", scopes: ["read"] }, null);
    for (let i = 0; i < 5; i += 1) await use(busy.token);
    const error = await use(busy.token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBeGreaterThan(0);
    expect((error as RateLimitedError).message).toMatch(/^This API token has made more than 5 requests in a minute\. Try again in \d+ seconds?\.$/);
    await use(calm.token);
  });

  it("tells an unknown, a revoked and an expired token apart, and a wrong secret from none of them", async () => {
    const { token, view } = await createApiToken(owner, { name: "lifecycle", scopes: ["read"] }, null);
    const { publicId, secret } = splitToken(token)!;
    const wrongSecret = `pgd_${publicId}_${secret.startsWith("A") ? "B" : "A"}${secret.slice(1)}`;
    expect(await refusal(use(wrongSecret))).toMatchObject({ name: "UnauthenticatedError", code: "token_unknown" });
    const unknown = `pgd_${"a".repeat(16)}_${secret}`;
    expect(await refusal(use(unknown))).toMatchObject({ code: "token_unknown" });
    await db().apiToken.update({ where: { id: view.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await refusal(use(token))).message).toMatch(/^This API token expired on \d{4}-\d\d-\d\dT/);
    // Expired or revoked is only said to whoever holds the secret.
    expect(await refusal(use(wrongSecret))).toMatchObject({ code: "token_unknown" });
    await revokeApiToken(owner, view.id, null);
    expect(await refusal(use(token))).toMatchObject({ code: "token_revoked", message: "This API token has been revoked." });
  });
});
