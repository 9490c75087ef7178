import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { db } from "@/lib/db";
import { ConflictError, DomainError, ForbiddenError, NotFoundError, QuotaError } from "@/lib/errors";
import { actorFor } from "@/lib/tenancy/access";
import { createSite, deleteSite, getSite, listSites } from "@/lib/sites/sites";
import { newAccount } from "@/tests/support/accounts";

// The status the HTTP layer answers each refusal with (lib/http/errors.test.ts checks the mapping).
const STATUS: [new (...args: never[]) => DomainError, number][] = [
  [NotFoundError, 404],
  [ForbiddenError, 403],
  [QuotaError, 403],
  [ConflictError, 409],
];

async function status(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    const known = STATUS.find(([kind]) => error instanceof kind);
    if (known) return known[1];
    if (error instanceof ZodError) return 400; // what the HTTP layer answers for it
    throw error;
  }
}

describe("tenant scoping", () => {
  it("never lets one tenant read, find or delete another tenant's site", async () => {
    const alice = await newAccount("alice");
    const mallory = await newAccount("mallory");
    await createSite(alice.actor, { name: "secret-plans" }, null);

    expect(await status(actorFor(mallory.userId, alice.actor.tenantSlug))).toBe(404);
    expect(await status(getSite(mallory.actor, "secret-plans"))).toBe(404);
    expect(await status(deleteSite(mallory.actor, "secret-plans", null))).toBe(404);
    expect(await listSites(mallory.actor)).toEqual([]);
    // The same name is free in Mallory's own workspace: names are per tenant.
    await createSite(mallory.actor, { name: "secret-plans" }, null);
    expect((await listSites(alice.actor)).map((s) => s.name)).toEqual(["secret-plans"]);
    expect(await db().site.count({ where: { name: "secret-plans" } })).toBe(2);
  });

  it("answers 404 for a workspace that does not exist, the same as for someone else's", async () => {
    const alice = await newAccount("alice");
    expect(await status(actorFor(alice.userId, "no-such-tenant"))).toBe(404);
  });

  it("lets members see sites but only owners delete them", async () => {
    const owner = await newAccount("owner");
    const helper = await newAccount("helper");
    await db().membership.create({ data: { userId: helper.userId, tenantId: owner.actor.tenantId, role: "member" } });
    await createSite(owner.actor, { name: "shared" }, null);
    const asMember = await actorFor(helper.userId, owner.actor.tenantSlug);
    expect((await getSite(asMember, "shared")).name).toBe("shared");
    expect(await status(deleteSite(asMember, "shared", null))).toBe(403);
    await deleteSite(owner.actor, "shared", null);
    expect(await status(getSite(owner.actor, "shared"))).toBe(404);
  });
});

describe("site creation", () => {
  it("refuses invalid, reserved and duplicate names without writing a row", async () => {
    const { actor } = await newAccount("sites");
    await createSite(actor, { name: "blog" }, null);
    for (const [name, code] of [
      ["blog", 409],
      ["www", 400],
      ["Bad Name", 400],
      ["a".repeat(41), 400],
    ] as const) {
      expect(await status(createSite(actor, { name }, null))).toBe(code);
    }
    expect((await listSites(actor)).map((s) => s.name)).toEqual(["blog"]);
  });

  it("never gives two tenants the same public host name", async () => {
    const first = await newAccount("hosts");
    const second = await newAccount("hosts");
    // Forge a tenant slug so that `<site>-<tenant>` collides across tenants.
    await db().tenant.update({ where: { id: second.actor.tenantId }, data: { slug: `x-${first.actor.tenantSlug}` } });
    const secondActor = await actorFor(second.userId, `x-${first.actor.tenantSlug}`);
    await createSite(first.actor, { name: "blog-x" }, null);
    const error = await createSite(secondActor, { name: "blog" }, null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).message).toContain("already in use");
  });

  it("keeps to the per-tenant site quota under concurrency", async () => {
    const { actor } = await newAccount("quota");
    const results = await Promise.allSettled(Array.from({ length: 55 }, (_, i) => createSite(actor, { name: `site-${i}` }, null)));
    const created = await listSites(actor);
    expect(created).toHaveLength(50);
    const refusals = results.filter((r) => r.status === "rejected").map((r) => (r.reason as QuotaError).code);
    expect(refusals).toEqual(["quota_sites", "quota_sites", "quota_sites", "quota_sites", "quota_sites"]);
  });
});
