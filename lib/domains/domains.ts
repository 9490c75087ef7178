import "server-only";
import { randomBytes } from "node:crypto";
import { domainToASCII } from "node:url";
import { Prisma, type DomainState } from "@/lib/generated/prisma/client";
import { db } from "@/lib/db";
import { getConfig, type Config } from "@/lib/config";
import { actorAudit, recordAudit } from "@/lib/audit";
import { ConflictError, NotFoundError, QuotaError, UnavailableError, ValidationError } from "@/lib/errors";
import { requireOwner, type TenantActor } from "@/lib/tenancy/access";
import { siteNameSchema } from "@/lib/validation";
import { DOMAINS_MAX } from "@/lib/staticsite/schema";
import { publishPromotedDeploy } from "@/lib/publishing/publish";
import { clusterConfigured, getStatusHub } from "@/lib/publishing";
import { tenantNamespace } from "@/lib/tenancy/slug";
import { addDomainBodySchema, type DomainView } from "@/lib/api/domain-schemas";
import { DomainNameError, normaliseDomain, parseDomainName, unicodeForm, type DomainNameRules } from "./name";
import { challengeName, pointingName } from "./records";
import { phaseOf, type ServedDomain } from "./phase";
import { wakeDomainChecks } from "./wake";

/** Custom domains a site may have: as many as its StaticSite's spec.domains holds, so every verified one can be served. */
const DOMAINS_PER_SITE = DOMAINS_MAX;

function domainNameRules(config: Config = getConfig()): DomainNameRules {
  return {
    dashboardHost: new URL(config.NEXTAUTH_URL).hostname,
    baseDomain: config.PAGODA_BASE_DOMAIN,
    allowWildcard: config.PAGODA_DOMAINS_ALLOW_WILDCARD,
    allowSameSite: config.PAGODA_ALLOW_SAME_SITE_SITES,
  };
}

/** A fresh verification token: 128 random bits, hex, so it survives any DNS provider's form. */
function newVerificationToken(): string {
  return `pagoda-${randomBytes(16).toString("hex")}`;
}

type Row = {
  id: string;
  name: string;
  verificationToken: string;
  state: DomainState;
  attempts: number;
  failureReason: string | null;
  createdAt: Date;
  lastCheckedAt: Date | null;
  verifiedAt: Date | null;
  lostSince: Date | null;
  nextCheckAt: Date;
};

const rowSelect = {
  id: true,
  name: true,
  verificationToken: true,
  state: true,
  attempts: true,
  failureReason: true,
  createdAt: true,
  lastCheckedAt: true,
  verifiedAt: true,
  lostSince: true,
  nextCheckAt: true,
} as const;

function servedDomains(tenantSlug: string, siteName: string): Map<string, ServedDomain> | null {
  const hub = clusterConfigured() ? getStatusHub() : null;
  const status = hub?.get(tenantNamespace(tenantSlug), siteName)?.status as { domains?: unknown } | undefined;
  if (!Array.isArray(status?.domains)) return null;
  const out = new Map<string, ServedDomain>();
  for (const entry of status.domains as unknown[]) {
    if (typeof entry !== "object" || entry === null) continue;
    const { name, state, reason } = entry as Record<string, unknown>;
    if (typeof name === "string")
      out.set(name, { state: typeof state === "string" ? state : undefined, reason: typeof reason === "string" ? reason : undefined });
  }
  return out;
}

function records(name: string, token: string, config: Config): DomainView["records"] {
  const target: DomainView["records"]["target"] = [];
  if (config.PAGODA_INGRESS_HOSTNAME) target.push({ type: "CNAME", name: pointingName(name), value: config.PAGODA_INGRESS_HOSTNAME });
  for (const address of config.PAGODA_INGRESS_ADDRESSES) target.push({ type: address.includes(":") ? "AAAA" : "A", name: pointingName(name), value: address });
  return { txt: { type: "TXT", name: challengeName(name), value: token }, target };
}

function toView(row: Row, served: Map<string, ServedDomain> | null, config: Config): DomainView {
  const { phase, reason } = phaseOf(row, served);
  const iso = (date: Date | null) => (date ? date.toISOString() : null);
  return {
    name: row.name,
    unicodeName: unicodeForm(row.name),
    state: row.state,
    phase,
    reason,
    records: records(row.name, row.verificationToken, config),
    attempts: row.attempts,
    createdAt: row.createdAt.toISOString(),
    lastCheckedAt: iso(row.lastCheckedAt),
    verifiedAt: iso(row.verifiedAt),
    lostSince: iso(row.lostSince),
    removeAt: row.lostSince ? new Date(row.lostSince.getTime() + config.PAGODA_DOMAIN_GRACE_SECONDS * 1000).toISOString() : null,
    nextCheckAt: row.nextCheckAt.toISOString(),
  };
}

async function ownedSite(actor: TenantActor, siteName: string): Promise<{ id: string; name: string }> {
  requireOwner(actor);
  const parsed = siteNameSchema.safeParse(siteName);
  if (!parsed.success) throw new NotFoundError("Site not found.");
  const site = await db().site.findUnique({ where: { tenantId_name: { tenantId: actor.tenantId, name: parsed.data } }, select: { id: true, name: true } });
  if (!site) throw new NotFoundError("Site not found.");
  return site;
}

function requireIngressTarget(config: Config): void {
  if (!config.PAGODA_INGRESS_HOSTNAME && config.PAGODA_INGRESS_ADDRESSES.length === 0) {
    throw new UnavailableError(
      "domains_not_configured",
      "Custom domains are not set up on this installation: its operator has not said where they must point (PAGODA_INGRESS_HOSTNAME or PAGODA_INGRESS_ADDRESSES).",
    );
  }
}

/** A site's custom domains, oldest first, with the records to create and their live state. Owners only. */
export async function listDomains(actor: TenantActor, siteName: string): Promise<DomainView[]> {
  const site = await ownedSite(actor, siteName);
  const config = getConfig();
  const rows = await db().domain.findMany({
    where: { siteId: site.id, tenantId: actor.tenantId },
    orderBy: [{ createdAt: "asc" }, { name: "asc" }],
    select: rowSelect,
  });
  const served = servedDomains(actor.tenantSlug, site.name);
  return rows.map((row) => toView(row, served, config));
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
}

/**
 * Adds a custom domain to a site, pending until its DNS records are seen.
 * The name's unique index decides between two requests for the same name,
 * whichever tenants they come from: the second gets domain_taken and
 * nothing is written. Owners only.
 */
export async function addDomain(actor: TenantActor, siteName: string, raw: unknown, ip: string | null): Promise<DomainView> {
  const site = await ownedSite(actor, siteName);
  const config = getConfig();
  requireIngressTarget(config);
  const input = addDomainBodySchema.safeParse(raw);
  if (!input.success) throw new ValidationError("invalid_body", 'Send the domain as { "name": "www.example.com" }.', { name: "Enter a domain name." });
  let name;
  try {
    name = parseDomainName(input.data.name, domainNameRules(config));
  } catch (error) {
    if (error instanceof DomainNameError) throw new ValidationError(error.code, error.message, { name: error.message });
    throw error;
  }

  let row: Row;
  try {
    row = await db().$transaction(async (tx) => {
      // Serialises adds to one site, so the per-site limit holds under concurrent requests.
      await tx.$queryRaw`SELECT id FROM "Site" WHERE id = ${site.id} FOR UPDATE`;
      const count = await tx.domain.count({ where: { siteId: site.id } });
      if (count >= DOMAINS_PER_SITE) throw new QuotaError("quota_domains", `A site can have at most ${DOMAINS_PER_SITE} custom domains; remove one first.`);
      const created = await tx.domain.create({
        data: { tenantId: actor.tenantId, siteId: site.id, name: name.ascii, verificationToken: newVerificationToken() },
        select: rowSelect,
      });
      const audit = actorAudit(actor, { site: site.name, unicodeName: name.unicode });
      await recordAudit(
        { action: "domain.added", outcome: "success", tenantId: actor.tenantId, actorId: audit.actorId, target: name.ascii, ip, details: audit.details },
        tx,
      );
      return created;
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const holder = await db().domain.findUnique({ where: { name: name.ascii }, select: { siteId: true } });
    if (holder?.siteId === site.id) throw new ConflictError("domain_exists", `${name.ascii} is already a domain of this site.`, { name: "Already added." });
    // Whose it is stays unsaid: it may be another tenant's.
    throw new ConflictError("domain_taken", `${name.ascii} is already in use by another site on this installation.`, {
      name: "Already in use by another site.",
    });
  }
  wakeDomainChecks();
  return toView(row, null, config);
}

/** The stored (ASCII) form of a domain named in a URL: either form is accepted. */
function storedName(param: string): string | null {
  const normal = normaliseDomain(param);
  const ascii = normal.startsWith("*.") ? `*.${domainToASCII(normal.slice(2))}` : domainToASCII(normal);
  return ascii === "" || ascii === "*." ? null : ascii;
}

/**
 * Removes a custom domain from a site; a verified one is taken off the
 * StaticSite at once (and so off its Ingress). Owners only.
 */
export async function removeDomain(actor: TenantActor, siteName: string, domainParam: string, ip: string | null): Promise<void> {
  const site = await ownedSite(actor, siteName);
  const name = storedName(domainParam);
  if (!name) throw new NotFoundError("Domain not found.");
  const removed = await db().$transaction(async (tx) => {
    const row = await tx.domain.findFirst({ where: { name, siteId: site.id, tenantId: actor.tenantId }, select: { id: true, state: true } });
    if (!row) return null;
    await tx.domain.delete({ where: { id: row.id } });
    const audit = actorAudit(actor, { site: site.name, state: row.state });
    await recordAudit(
      { action: "domain.removed", outcome: "success", tenantId: actor.tenantId, actorId: audit.actorId, target: name, ip, details: audit.details },
      tx,
    );
    return row;
  });
  if (!removed) throw new NotFoundError("Domain not found.");
  if (removed.state === "verified") await publishPromotedDeploy(site.id);
}
