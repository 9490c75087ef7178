import "server-only";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { stringify } from "csv-stringify";
import { AUDIT_PAGE_DEFAULT, auditQuerySchema, type AuditEventView, type AuditQuery, type AuditResponse } from "@/lib/api/audit-schemas";
import { db, type Prisma } from "@/lib/db";
import { ValidationError } from "@/lib/errors";
import { componentLogger } from "@/lib/log";
import { requireOwner, type TenantActor } from "@/lib/tenancy/access";

const log = componentLogger("audit-log");

/** Rows of one CSV export at most: a year of a busy workspace, and still a file a spreadsheet opens. */
export const AUDIT_CSV_MAX_ROWS = 10_000;
// Rows read from Postgres per statement while a CSV streams.
const CSV_BATCH = 500;

/** Actions about a site, whose target is the site's name. */
const SITE_ACTION_PREFIXES = ["site.", "deploy."];
const isSiteAction = (action: string) => SITE_ACTION_PREFIXES.some((prefix) => action.startsWith(prefix));

export interface Cursor {
  createdAt: Date;
  id: string;
}

// Opaque to clients; only its position in (createdAt, id) order means anything.
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`, "utf8").toString("base64url");
}

export function decodeCursor(text: string): Cursor {
  const invalid = () =>
    new ValidationError("invalid_input", "This page link is not valid. Start again from the newest events.", { cursor: "Not a cursor this API gave out." });
  const [time, id, ...rest] = Buffer.from(text, "base64url").toString("utf8").split("|");
  if (!time || !id || rest.length > 0 || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw invalid();
  const createdAt = new Date(time);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== time) throw invalid();
  return { createdAt, id };
}

/** Strictly after the cursor in newest-first order, so events written meanwhile (newer) never shift a page. */
export function olderThan(after: Cursor): Prisma.AuditEventWhereInput {
  return { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] };
}

/**
 * The filter of a query, always inside the actor's workspace: the tenant is
 * the first condition of every read below, and nothing from the query can
 * replace it.
 */
function whereOf(actor: TenantActor, query: AuditQuery, after?: Cursor): Prisma.AuditEventWhereInput {
  const and: Prisma.AuditEventWhereInput[] = [];
  if (query.person?.startsWith("token:")) and.push({ details: { path: ["tokenId"], equals: query.person.slice("token:".length) } });
  else if (query.person) and.push({ actorId: query.person });
  if (query.action) and.push({ action: query.action });
  if (query.site) and.push({ target: query.site, OR: SITE_ACTION_PREFIXES.map((prefix) => ({ action: { startsWith: prefix } })) });
  if (after) and.push(olderThan(after));
  return { tenantId: actor.tenantId, AND: and };
}

export const NEWEST_FIRST: Prisma.AuditEventOrderByWithRelationInput[] = [{ createdAt: "desc" }, { id: "desc" }];

type Row = Prisma.AuditEventGetPayload<{ select: typeof rowSelect }>;
const rowSelect = { id: true, createdAt: true, action: true, outcome: true, actorId: true, target: true, ip: true, details: true } as const;

type People = Map<string, { name: string; email: string }>;

async function peopleOf(rows: Row[]): Promise<People> {
  const ids = [...new Set(rows.flatMap((row) => (row.actorId ? [row.actorId] : [])))];
  if (ids.length === 0) return new Map();
  const users = await db().user.findMany({ where: { id: { in: ids } }, select: { id: true, name: true, email: true } });
  return new Map(users.map((user) => [user.id, { name: user.name, email: user.email }]));
}

function stringField(details: unknown, key: string): string | null {
  if (!details || typeof details !== "object" || Array.isArray(details)) return null;
  const value = (details as Record<string, unknown>)[key];
  return typeof value === "string" ? value : null;
}

function viewOf(row: Row, people: People): AuditEventView {
  const person = row.actorId ? people.get(row.actorId) : undefined;
  return {
    id: row.id,
    createdAt: row.createdAt.toISOString(),
    action: row.action,
    outcome: row.outcome === "success" ? "success" : "failure",
    actor: {
      userId: row.actorId,
      name: person?.name ?? null,
      email: person?.email ?? null,
      tokenId: stringField(row.details, "tokenId"),
      tokenName: stringField(row.details, "tokenName"),
    },
    site: isSiteAction(row.action) ? row.target : null,
    target: row.target,
    ip: row.ip,
    details: row.details ?? null,
  };
}

/** Parses a query as it came (URL parameters): a bad value is a ZodError (400 with the field), never a 500. */
export function parseAuditQuery(raw: Record<string, string | string[] | undefined>): AuditQuery {
  const single = Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, Array.isArray(value) ? value.at(-1) : value]));
  return auditQuerySchema.parse(single);
}

/**
 * One page of the workspace's audit log, newest first, for owners only.
 * Keyset pagination on (createdAt, id): a page link keeps meaning the same
 * events while new ones are written.
 */
export async function listAuditEvents(actor: TenantActor, query: AuditQuery): Promise<AuditResponse> {
  requireOwner(actor);
  const after = query.cursor ? decodeCursor(query.cursor) : undefined;
  const limit = query.limit ?? AUDIT_PAGE_DEFAULT;
  const rows = await db().auditEvent.findMany({ where: whereOf(actor, query, after), orderBy: NEWEST_FIRST, take: limit + 1, select: rowSelect });
  const page = rows.slice(0, limit);
  const people = await peopleOf(page);
  const last = page.at(-1);
  return { events: page.map((row) => viewOf(row, people)), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

export interface AuditFilterOptions {
  people: { value: string; label: string }[];
  actions: string[];
  sites: string[];
}

// What the page's filter lists offer, each bounded: they are choices, not a report.
const OPTIONS_MAX = 500;

/** The choices of the page's filters: who and what appear in this workspace's log, and its sites. Owners only. */
export async function auditFilterOptions(actor: TenantActor): Promise<AuditFilterOptions> {
  requireOwner(actor);
  const tenantId = actor.tenantId;
  const [actors, actions, targets, sites, members, tokens] = await Promise.all([
    db().auditEvent.groupBy({ by: ["actorId"], where: { tenantId, actorId: { not: null } }, orderBy: { actorId: "asc" }, take: OPTIONS_MAX }),
    db().auditEvent.groupBy({ by: ["action"], where: { tenantId }, orderBy: { action: "asc" }, take: OPTIONS_MAX }),
    db().auditEvent.groupBy({
      by: ["target"],
      where: { tenantId, target: { not: null }, OR: SITE_ACTION_PREFIXES.map((prefix) => ({ action: { startsWith: prefix } })) },
      orderBy: { target: "asc" },
      take: OPTIONS_MAX,
    }),
    db().site.findMany({ where: { tenantId }, select: { name: true }, orderBy: { name: "asc" }, take: OPTIONS_MAX }),
    db().membership.findMany({ where: { tenantId }, select: { userId: true }, take: OPTIONS_MAX }),
    db().apiToken.findMany({ where: { tenantId }, select: { id: true, name: true }, orderBy: { createdAt: "desc" }, take: OPTIONS_MAX }),
  ]);
  const userIds = [...new Set([...members.map((m) => m.userId), ...actors.flatMap((a) => (a.actorId ? [a.actorId] : []))])];
  const users = await db().user.findMany({ where: { id: { in: userIds } }, select: { id: true, name: true, email: true }, orderBy: { name: "asc" } });
  const known = new Set(users.map((user) => user.id));
  const people = [
    ...users.map((user) => ({ value: user.id, label: `${user.name} <${user.email}>` })),
    ...userIds.filter((id) => !known.has(id)).map((id) => ({ value: id, label: `deleted account ${id}` })),
    ...tokens.map((token) => ({ value: `token:${token.id}`, label: `token ${token.name}` })),
  ];
  const siteNames = [...new Set([...sites.map((s) => s.name), ...targets.flatMap((t) => (t.target ? [t.target] : []))])].sort();
  return { people, actions: actions.map((a) => a.action), sites: siteNames };
}

/** The CSV's columns, in order. */
export const AUDIT_CSV_COLUMNS = ["id", "time", "action", "outcome", "person", "email", "token", "site", "target", "ip", "details"] as const;

function csvRecord(event: AuditEventView): Record<(typeof AUDIT_CSV_COLUMNS)[number], string> {
  return {
    id: event.id,
    time: event.createdAt,
    action: event.action,
    outcome: event.outcome,
    person: event.actor.name ?? (event.actor.userId ? `deleted account ${event.actor.userId}` : ""),
    email: event.actor.email ?? "",
    token: event.actor.tokenName ?? "",
    site: event.site ?? "",
    target: event.target ?? "",
    ip: event.ip ?? "",
    details: event.details === null ? "" : JSON.stringify(event.details),
  };
}

export interface AuditCsv {
  /** The file, streamed from Postgres a batch at a time. */
  body: ReadableStream<Uint8Array>;
  /** More events matched than the file holds (AUDIT_CSV_MAX_ROWS). */
  truncated: boolean;
}

/**
 * The events a query matches (from its cursor on, newest first, at most
 * AUDIT_CSV_MAX_ROWS) as an RFC 4180 CSV. Owners only; the query and the
 * owner check are judged before anything streams, so a refusal is an
 * ordinary error answer. csv-stringify quotes every field that needs it and,
 * with escape_formulas, puts a ' before a cell starting with = + - @, a tab
 * or a carriage return, so a spreadsheet shows it as text instead of
 * running it as a formula (names, targets and zip entry names are typed by
 * people).
 */
export async function auditCsv(actor: TenantActor, query: AuditQuery): Promise<AuditCsv> {
  requireOwner(actor);
  const start = query.cursor ? decodeCursor(query.cursor) : undefined;
  const matching = await db().auditEvent.count({ where: whereOf(actor, query, start), take: AUDIT_CSV_MAX_ROWS + 1 });

  async function* records(): AsyncGenerator<Record<string, string>> {
    let after = start;
    let sent = 0;
    while (sent < AUDIT_CSV_MAX_ROWS) {
      const rows = await db().auditEvent.findMany({
        where: whereOf(actor, query, after),
        orderBy: NEWEST_FIRST,
        take: Math.min(CSV_BATCH, AUDIT_CSV_MAX_ROWS - sent),
        select: rowSelect,
      });
      if (rows.length === 0) return;
      const people = await peopleOf(rows);
      for (const row of rows) yield csvRecord(viewOf(row, people));
      sent += rows.length;
      after = rows.at(-1)!;
    }
  }

  const out = new PassThrough();
  pipeline(
    Readable.from(records()),
    // A lone CR or LF is a line break to some readers: quoted, like the CRLF the library already quotes.
    stringify({ header: true, columns: [...AUDIT_CSV_COLUMNS], record_delimiter: "windows", escape_formulas: true, quoted_match: /[\r\n]/ }),
    out,
  ).catch((error: unknown) => {
    // A download cancelled by its client ends the pipeline too; that is no failure of ours.
    const cancelled = (error as { code?: string }).code === "ERR_STREAM_PREMATURE_CLOSE";
    log[cancelled ? "info" : "error"](
      { err: error, tenantId: actor.tenantId, query },
      cancelled ? "the audit CSV download was cancelled" : "the audit CSV export failed part-way",
    );
  });
  return { body: Readable.toWeb(out) as ReadableStream<Uint8Array>, truncated: matching > AUDIT_CSV_MAX_ROWS };
}
