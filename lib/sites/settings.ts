import "server-only";
import type { z } from "zod";
import { db } from "@/lib/db";
import type { Prisma } from "@/lib/generated/prisma/client";
import { actorAudit, recordAudit } from "@/lib/audit";
import { NotFoundError, ValidationError } from "@/lib/errors";
import { publishPromotedDeploy } from "@/lib/publishing/publish";
import { parseHeaders, parseRedirects, type HeaderRule, type ParseResult, type RedirectRule } from "@/lib/staticsite/rules";
import { NOT_FOUND_PAGE_MAX_LENGTH, NOT_FOUND_PAGE_RE } from "@/lib/staticsite/schema";
import type { ServingMode } from "@/lib/staticsite/types";
import { requireRole, type TenantActor } from "@/lib/tenancy/access";
import { siteSettingsBodySchema, type headerRuleViewSchema, type redirectRuleViewSchema, type siteSettingsSchema } from "@/lib/api/schemas";
import { siteNameSchema } from "@/lib/validation";
import { getConfig } from "@/lib/config";

export type SiteSettingsView = z.infer<typeof siteSettingsSchema>;
type RedirectRuleView = z.infer<typeof redirectRuleViewSchema>;
type HeaderRuleView = z.infer<typeof headerRuleViewSchema>;

/** The serving settings of a site, as the Site row and the StaticSite hold them. */
export interface ServingSettings {
  spa: boolean;
  notFoundPage: string | null;
  /** Its own nginx pods, or the shared pool (docs/serving.md). */
  serving: ServingMode;
}

/** One change of a site's settings, as its history shows it. */
export interface SettingsChangeView {
  id: string;
  /** "SPA fallback on", "custom 404 page /404.html", "custom 404 page removed", joined by ", ". */
  summary: string;
  /** Who made it: a person's name, or a token's; null when not known. */
  by: { kind: "user" | "token"; name: string } | null;
  createdAt: string;
}

/** Changes a site's history shows at most, newest first; the deploy list shows 50 too. */
const CHANGES_LIMIT = 50;

/**
 * Whether a deploy's file can be its site's custom 404 page: an .html file
 * whose path the StaticSite accepts (lib/staticsite/schema.ts), so a choice
 * offered here is never refused by the API server later.
 */
export function isNotFoundPageCandidate(path: string): boolean {
  return (
    path.endsWith(".html") &&
    path.length <= NOT_FOUND_PAGE_MAX_LENGTH &&
    NOT_FOUND_PAGE_RE.test(path) &&
    !path.includes("..") &&
    // nginx's error_page is a URI: one that only a directory index would answer is never a file.
    !path.endsWith("/")
  );
}

/**
 * Records, inside the upload's transaction, which of a deploy's files can be
 * its 404 page. One statement whatever the count (a deploy can have 20,000
 * files; bind parameters would run out long before).
 */
export async function recordHtmlFiles(tx: Prisma.TransactionClient, deployId: string, paths: readonly string[]): Promise<void> {
  const pages = [...new Set(paths.filter(isNotFoundPageCandidate))];
  if (pages.length === 0) return;
  await tx.$executeRaw`INSERT INTO "DeployHtmlFile" ("deployId", path) SELECT ${deployId}, unnest(${pages}::text[])`;
}

const siteSelect = {
  id: true,
  name: true,
  spa: true,
  notFoundPage: true,
  serving: true,
  targetDeploy: { select: { id: true, digest: true, redirectsText: true, headersText: true } },
} as const;

async function siteOf(actor: TenantActor, siteName: string) {
  const parsed = siteNameSchema.safeParse(siteName);
  if (!parsed.success) throw new NotFoundError("Site not found.");
  const site = await db().site.findUnique({ where: { tenantId_name: { tenantId: actor.tenantId, name: parsed.data } }, select: siteSelect });
  if (!site) throw new NotFoundError("Site not found.");
  return site;
}

function fileView<T, V>(text: string | null, parse: (text: string) => ParseResult<T>, view: (rule: T) => V): { rules: V[]; errors: string[] } | null {
  if (text === null) return null;
  const parsed = parse(text);
  return parsed.ok ? { rules: parsed.rules.map(view), errors: [] } : { rules: [], errors: parsed.errors.map((error) => error.message) };
}

function redirectView(rule: RedirectRule): RedirectRuleView {
  return {
    line: rule.line,
    from: rule.from.source,
    query: rule.query.map((q) => `${q.name}=${"placeholder" in q ? `:${q.placeholder}` : q.value}`),
    to: rule.to,
    status: rule.status,
    force: rule.force,
  };
}

function headerView(rule: HeaderRule): HeaderRuleView {
  return {
    line: rule.line,
    path: rule.path.source,
    headers: rule.headers.map((h) => ({ line: h.line, name: h.name, value: "remove" in h ? null : h.value })),
  };
}

/** A site's serving settings, the 404 pages its current deploy offers, and that deploy's rules. */
export async function getSiteSettings(actor: TenantActor, siteName: string): Promise<SiteSettingsView> {
  const site = await siteOf(actor, siteName);
  const deploy = site.targetDeploy;
  if (!deploy) {
    return { spa: site.spa, notFoundPage: site.notFoundPage, serving: site.serving, deploy: null, pages: [], rules: { redirects: null, headers: null } };
  }
  const files = await db().deployHtmlFile.findMany({ where: { deployId: deploy.id }, orderBy: { path: "asc" }, select: { path: true } });
  return {
    spa: site.spa,
    notFoundPage: site.notFoundPage,
    serving: site.serving,
    deploy: { id: deploy.id, shortDigest: deploy.digest ? deploy.digest.slice("sha256:".length, "sha256:".length + 12) : null },
    pages: files.map((file) => file.path),
    rules: {
      // The text was checked at upload; parsing it again gives each rule its line number.
      redirects: fileView(deploy.redirectsText, (text) => parseRedirects(text, { proxyOrigins: getConfig().PAGODA_PROXY_ORIGINS }), redirectView),
      headers: fileView(deploy.headersText, parseHeaders, headerView),
    },
  };
}

const SPA_AND_404 =
  "The SPA fallback and a custom 404 page cannot be combined: with the fallback on, every unknown path serves /index.html, so no 404 page would ever show. Turn one off.";

const SERVING_PHRASE: Record<ServingMode, string> = { dedicated: "served by its own pods", shared: "served by the shared pool" };

/** "SPA fallback on, custom 404 page /404.html": what changed, for the history. */
export function describeChange(before: ServingSettings, after: ServingSettings): string {
  const parts: string[] = [];
  if (before.spa !== after.spa) parts.push(`SPA fallback ${after.spa ? "on" : "off"}`);
  if (before.notFoundPage !== after.notFoundPage) parts.push(after.notFoundPage === null ? "custom 404 page removed" : `custom 404 page ${after.notFoundPage}`);
  if (before.serving !== after.serving) parts.push(SERVING_PHRASE[after.serving]);
  return parts.join(", ");
}

/**
 * Changes a site's SPA fallback and custom 404 page, and republishes the
 * site so the change goes live like a deploy (the operator rolls the new
 * configuration out; the old pods serve until the new ones are ready).
 * Owners and members may do it, as they may deploy; an API token needs the
 * `deploy` scope (the route asks for it). A refusal changes nothing.
 */
export async function updateSiteSettings(actor: TenantActor, siteName: string, raw: unknown, ip: string | null): Promise<SiteSettingsView> {
  requireRole(actor, "member");
  const site = await siteOf(actor, siteName);
  const input = siteSettingsBodySchema.parse(raw);
  const changed = await db().$transaction(async (tx) => {
    // Taking the row orders this against a promotion, which moves the target deploy the 404 page is checked against.
    const [current] = await tx.$queryRaw<{ spa: boolean; notFoundPage: string | null; serving: ServingMode; targetDeployId: string | null }[]>`
      SELECT spa, "notFoundPage", serving::text AS serving, "targetDeployId" FROM "Site" WHERE id = ${site.id} FOR UPDATE`;
    if (!current) throw new NotFoundError("Site not found.");
    const before: ServingSettings = { spa: current.spa, notFoundPage: current.notFoundPage, serving: current.serving };
    const after: ServingSettings = {
      spa: input.spa ?? before.spa,
      notFoundPage: input.notFoundPage === undefined ? before.notFoundPage : input.notFoundPage,
      serving: input.serving ?? before.serving,
    };
    if (after.spa && after.notFoundPage !== null) {
      throw new ValidationError("spa_with_not_found_page", SPA_AND_404, {
        [input.notFoundPage === undefined ? "spa" : "notFoundPage"]: SPA_AND_404,
      });
    }
    if (after.notFoundPage !== null && after.notFoundPage !== before.notFoundPage) {
      await requirePage(tx, current.targetDeployId, after.notFoundPage);
    }
    const summary = describeChange(before, after);
    if (summary === "") return false;
    await tx.site.update({ where: { id: site.id }, data: after });
    const user = actor.userId === null ? null : await tx.user.findUnique({ where: { id: actor.userId }, select: { name: true } });
    await tx.siteSettingsChange.create({
      data: {
        siteId: site.id,
        ...after,
        previousSpa: before.spa,
        previousNotFoundPage: before.notFoundPage,
        previousServing: before.serving,
        byName: actor.token?.name ?? user?.name ?? null,
        byToken: actor.token !== undefined,
      },
    });
    await recordAudit(
      { action: "site.settings", outcome: "success", tenantId: actor.tenantId, target: site.name, ip, ...actorAudit(actor, { before, after }) },
      tx,
    );
    return true;
  });
  if (changed) await publishPromotedDeploy(site.id);
  return getSiteSettings(actor, site.name);
}

async function requirePage(tx: Prisma.TransactionClient, deployId: string | null, page: string): Promise<void> {
  if (deployId === null) {
    throw new ValidationError("no_deploy", "Deploy the site first: the 404 page is one of its files.", { notFoundPage: "Deploy the site first." });
  }
  const file = await tx.deployHtmlFile.findUnique({ where: { deployId_path: { deployId, path: page } }, select: { path: true } });
  if (!file) {
    const message = `${page} is not an .html file of the deploy the site is pointed at. Choose one of its files.`;
    throw new ValidationError("not_found_page_missing", message, { notFoundPage: message });
  }
}

/** A site's settings changes, newest first, for its history. */
export async function listSettingsChanges(actor: TenantActor, siteName: string): Promise<SettingsChangeView[]> {
  const parsed = siteNameSchema.safeParse(siteName);
  if (!parsed.success) throw new NotFoundError("Site not found.");
  // One statement: the site's own row scopes the changes to the actor's tenant.
  const rows = await db().siteSettingsChange.findMany({
    where: { site: { tenantId: actor.tenantId, name: parsed.data } },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: CHANGES_LIMIT,
  });
  return rows.map((row) => ({
    id: row.id,
    summary: describeChange(
      { spa: row.previousSpa, notFoundPage: row.previousNotFoundPage, serving: row.previousServing },
      { spa: row.spa, notFoundPage: row.notFoundPage, serving: row.serving },
    ),
    by: row.byName === null ? null : { kind: row.byToken ? "token" : "user", name: row.byName },
    createdAt: row.createdAt.toISOString(),
  }));
}
