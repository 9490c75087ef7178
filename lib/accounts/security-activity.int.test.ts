/**
 * The account page's security activity: a person reads their own account
 * events and nobody else's, never a workspace's events, newest first in
 * bounded keyset pages.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { changeName, signOutEverywhere } from "@/lib/accounts/account";
import { encodeCursor } from "@/lib/accounts/audit-log";
import { ACCOUNT_ACTIONS, listSecurityActivity, SECURITY_ACTIVITY_PAGE } from "@/lib/accounts/security-activity";
import { recordAudit } from "@/lib/audit";
import { db } from "@/lib/db";
import { ValidationError } from "@/lib/errors";
import { createSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { newAccount } from "@/tests/support/accounts";

let alice: TenantActor;
let aliceId: string;
let aliceEmail: string;
let malloryId: string;
let malloryEventIds: Set<string>;

async function allPages(userId: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await listSecurityActivity(userId, { limit, cursor });
    ids.push(...page.events.map((e) => e.id));
    if (!page.olderCursor) return ids;
    cursor = page.olderCursor;
  }
}

beforeAll(async () => {
  ({ actor: alice, userId: aliceId, email: aliceEmail } = await newAccount("activity-alice"));
  const mallory = await newAccount("activity-mallory");
  malloryId = mallory.userId;
  // The same account actions on both sides, through the real functions where they exist.
  for (const [userId, email, ip] of [
    [aliceId, aliceEmail, "198.51.100.10"],
    [malloryId, mallory.email, "203.0.113.66"],
  ] as const) {
    await recordAudit({ action: "user.signin", outcome: "success", actorId: userId, target: email });
    await recordAudit({ action: "user.signin", outcome: "success", actorId: userId, target: email, details: { method: "oidc", issuer: "https://idp.test" } });
    await recordAudit({ action: "user.signin", outcome: "failure", actorId: userId, target: email });
    await changeName(userId, { name: `Renamed ${email.slice(0, 8)}` }, ip);
    await signOutEverywhere(userId, ip);
  }
  // A workspace event of Alice's: it belongs to the workspace's log, not here.
  await createSite(alice, { name: "activity-site" }, "198.51.100.11");
  malloryEventIds = new Set((await db().auditEvent.findMany({ where: { actorId: malloryId }, select: { id: true } })).map((e) => e.id));
  expect(malloryEventIds.size).toBeGreaterThanOrEqual(5);
});

describe("security activity", () => {
  it("lists the person's own account events, newest first, and no workspace event", async () => {
    const { events, olderCursor } = await listSecurityActivity(aliceId);
    expect(olderCursor).toBeNull();
    const expected = await db().auditEvent.findMany({
      where: { actorId: aliceId, action: { notIn: ["site.create", "user.signup"] } },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      select: { id: true },
    });
    expect(events.map((e) => e.id)).toEqual(expected.map((e) => e.id));
    expect(events.map((e) => e.action).sort()).toEqual(["user.name_change", "user.signin", "user.signin", "user.signin", "user.signout_everywhere"]);
    expect(events.find((e) => e.action === "user.signout_everywhere")).toMatchObject({ target: aliceEmail, ip: "198.51.100.10", outcome: "success" });
    expect(events.filter((e) => e.action === "user.signin" && e.outcome === "failure")).toHaveLength(1);
    expect(events.filter((e) => (e.details as { method?: string } | null)?.method === "oidc")).toHaveLength(1);
    for (const event of events) expect(ACCOUNT_ACTIONS).toContain(event.action);
    expect(events.some((e) => e.action === "site.create")).toBe(false);
    expect(events.some((e) => malloryEventIds.has(e.id))).toBe(false);
  });

  it("never shows another person's events, even from a page link made from one of theirs", async () => {
    const [newest] = await db().auditEvent.findMany({ where: { actorId: malloryId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: 1 });
    const fromMallory = encodeCursor({ createdAt: new Date(newest!.createdAt.getTime() + 1000), id: "zzzzzzzz" });
    const page = await listSecurityActivity(aliceId, { cursor: fromMallory });
    expect(page.events.length).toBeGreaterThan(0);
    expect(page.events.some((e) => malloryEventIds.has(e.id))).toBe(false);
    const mine = await listSecurityActivity(malloryId);
    expect(mine.events).toHaveLength(5);
    expect(mine.events.every((e) => malloryEventIds.has(e.id))).toBe(true);
  });

  it("pages by keyset: bounded pages, every event once, in order", async () => {
    const { userId } = await newAccount("activity-pages");
    const at = new Date();
    // Many in the same millisecond, so only the id orders them.
    await db().auditEvent.createMany({
      data: Array.from({ length: SECURITY_ACTIVITY_PAGE + 7 }, () => ({ action: "user.signin", outcome: "success", actorId: userId, createdAt: at })),
    });
    const first = await listSecurityActivity(userId);
    expect(first.events).toHaveLength(SECURITY_ACTIVITY_PAGE);
    expect(first.olderCursor).not.toBeNull();
    const expected = (
      await db().auditEvent.findMany({ where: { actorId: userId, tenantId: null }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], select: { id: true } })
    ).map((e) => e.id);
    for (const limit of [1, 7, SECURITY_ACTIVITY_PAGE]) expect(await allPages(userId, limit)).toEqual(expected);
    // A page never grows past the bound, whatever is asked.
    expect((await listSecurityActivity(userId, { limit: 10_000 })).events).toHaveLength(SECURITY_ACTIVITY_PAGE);
  });

  it("refuses a page link it did not give out", async () => {
    for (const cursor of ["nonsense", Buffer.from("2026-01-01|a|b").toString("base64url"), Buffer.from("yesterday|abc").toString("base64url")]) {
      await expect(listSecurityActivity(aliceId, { cursor })).rejects.toBeInstanceOf(ValidationError);
    }
  });
});
