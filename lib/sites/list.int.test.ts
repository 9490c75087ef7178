import pg from "pg";
import { describe, expect, it, vi } from "vitest";
import { userForSessionToken } from "@/lib/auth/session";
import { db } from "@/lib/db";
import { NotFoundError } from "@/lib/errors";
import { getSite, listSitePage, listSites, pageNumber, SITES_PER_PAGE } from "@/lib/sites/sites";
import { hostLabelFor } from "@/lib/sites/url";
import { actorFor } from "@/lib/tenancy/access";
import { newAccount, signedInCookie } from "@/tests/support/accounts";

/** The SQL statements `run` sends to Postgres, as the driver under Prisma sees them. */
async function statementsOf<T>(run: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const spy = vi.spyOn(pg.Client.prototype, "query");
  try {
    const result = await run();
    const statements = spy.mock.calls.map(([q]) => (typeof q === "string" ? q : (q as { text: string }).text));
    return { result, statements };
  } finally {
    spy.mockRestore();
  }
}

/** `count` sites, site-0 the oldest; site i has i % 3 deploys and, when it has any, its newest one promoted. */
async function seed(tenantId: string, tenantSlug: string, count: number): Promise<void> {
  const base = Date.parse("2026-01-01T00:00:00Z");
  const sites = Array.from({ length: count }, (_, i) => ({
    id: `${tenantSlug}-s${i}`,
    tenantId,
    name: `site-${i}`,
    hostLabel: hostLabelFor(`site-${i}`, tenantSlug),
    createdAt: new Date(base + i * 60_000),
  }));
  await db().site.createMany({ data: sites });
  const deploys = sites.flatMap((site, i) =>
    Array.from({ length: i % 3 }, (_, k) => ({
      id: `${site.id}-d${k}`,
      siteId: site.id,
      digest: `sha256:${String(i).padStart(64, "0")}`,
      state: "ready" as const,
    })),
  );
  await db().deploy.createMany({ data: deploys });
  for (const [i, site] of sites.entries()) {
    if (i % 3 > 0) await db().site.update({ where: { id: site.id }, data: { targetDeployId: `${site.id}-d${(i % 3) - 1}` } });
  }
}

describe("the site list", () => {
  it("pages through a tenant's sites newest first, with each one's deploy count and target, and nothing of another tenant", async () => {
    const alice = await newAccount("alice");
    const bob = await newAccount("bob");
    await seed(alice.actor.tenantId, alice.actor.tenantSlug, 120);
    await seed(bob.actor.tenantId, bob.actor.tenantSlug, 7);

    const pages = await Promise.all([1, 2, 3].map((page) => listSitePage(alice.actor, page)));
    expect(pages.map((p) => p.sites.length)).toEqual([SITES_PER_PAGE, SITES_PER_PAGE, 120 - 2 * SITES_PER_PAGE]);
    expect(pages.map((p) => [p.page, p.pageCount, p.total])).toEqual([
      [1, 3, 120],
      [2, 3, 120],
      [3, 3, 120],
    ]);
    const names = pages.flatMap((p) => p.sites.map((s) => s.name));
    expect(names).toEqual(Array.from({ length: 120 }, (_, i) => `site-${119 - i}`));

    // The same views as the Prisma relations say, row by row.
    const expected = await db().site.findMany({
      where: { tenantId: alice.actor.tenantId },
      select: { name: true, _count: { select: { deploys: true } }, targetDeploy: { select: { digest: true } } },
    });
    const byName = new Map(expected.map((row) => [row.name, row]));
    for (const site of pages.flatMap((p) => p.sites)) {
      expect([site.name, site.deployCount, site.targetDigest]).toEqual([
        site.name,
        byName.get(site.name)!._count.deploys,
        byName.get(site.name)!.targetDeploy?.digest ?? null,
      ]);
    }
    expect(await getSite(alice.actor, "site-5")).toEqual(pages[2]!.sites.find((s) => s.name === "site-5"));
    expect(await listSites(alice.actor)).toEqual(pages.flatMap((p) => p.sites));

    const past = await listSitePage(alice.actor, 4);
    expect([past.sites, past.total, past.pageCount]).toEqual([[], 120, 3]);
    const other = await listSitePage(bob.actor, 1);
    expect([other.sites.map((s) => s.name), other.total, other.pageCount]).toEqual([Array.from({ length: 7 }, (_, i) => `site-${6 - i}`), 7, 1]);
    const empty = await listSitePage((await newAccount("carol")).actor, 1);
    expect([empty.sites, empty.total, empty.pageCount]).toEqual([[], 0, 1]);
  });

  it("renders for a signed-in person in three statements, whatever the workspace's size: session, membership, page", async () => {
    const carol = await newAccount("carol");
    await seed(carol.actor.tenantId, carol.actor.tenantSlug, 1_000);
    const cookie = await signedInCookie(carol.userId);
    // Warm: the first statements of a fresh connection are not the render's.
    await listSitePage(carol.actor, 1);
    const session = await statementsOf(() => userForSessionToken(cookie));
    expect(session.result?.id).toBe(carol.userId);
    const actor = await statementsOf(() => actorFor(carol.userId, carol.actor.tenantSlug));
    const page = await statementsOf(() => listSitePage(actor.result, 1));
    expect(page.result.total).toBe(1_000);
    expect(page.result.sites).toHaveLength(SITES_PER_PAGE);
    expect([session.statements.length, actor.statements.length, page.statements.length]).toEqual([1, 1, 1]);
  });

  it("reads the page number strictly: anything but a whole number from 1 is the first page", () => {
    expect(pageNumber("3")).toBe(3);
    expect(pageNumber(["2", "9"])).toBe(2);
    for (const raw of [undefined, "", "0", "-1", "1.5", "2e3", " 2", "0x10", "abc", "1234567", "２"]) expect(pageNumber(raw)).toBe(1);
  });
});

describe("the workspace actor", () => {
  it("is the membership's role and tenant, and 404 for a tenant the user is not in", async () => {
    const owner = await newAccount("owner");
    const helper = await newAccount("helper");
    await db().membership.create({ data: { userId: helper.userId, tenantId: owner.actor.tenantId, role: "member" } });
    expect(await actorFor(helper.userId, owner.actor.tenantSlug)).toEqual({
      userId: helper.userId,
      tenantId: owner.actor.tenantId,
      tenantSlug: owner.actor.tenantSlug,
      role: "member",
    });
    expect(owner.actor.role).toBe("owner");
    // NotFoundError is what lib/http answers with 404.
    const refusal = actorFor(owner.userId, helper.actor.tenantSlug);
    await expect(refusal).rejects.toBeInstanceOf(NotFoundError);
    await expect(refusal).rejects.toMatchObject({ code: "not_found" });
  });
});
