import "server-only";
import { Resolver } from "node:dns/promises";
import { db } from "@/lib/db";
import { getConfig, type Config } from "@/lib/config";
import { recordAudit } from "@/lib/audit";
import { backoffDelay } from "@/lib/kube/backoff";
import { componentLogger } from "@/lib/log";
import { processSingleton } from "@/lib/process-singleton";
import { publishPromotedDeploy } from "@/lib/publishing/publish";
import type { DomainState } from "@/lib/generated/prisma/client";
import { normaliseDomain } from "./name";
import { challengeName, pointingName } from "./records";
import { setDomainWaker } from "./wake";

const log = componentLogger("domains");

/** Where a custom domain must point: PAGODA_INGRESS_HOSTNAME and/or PAGODA_INGRESS_ADDRESSES. */
interface IngressTarget {
  hostname?: string;
  addresses: readonly string[];
}

/**
 * One check's verdict. `definitive` is false when DNS gave no answer
 * (timeout, SERVFAIL, refused): that says nothing about the records, so a
 * verified domain is not counted as lost because of it.
 */
type CheckResult = { ok: true } | { ok: false; definitive: boolean; reason: string };

/** A resolver for the checks: PAGODA_DNS_RESOLVER's servers, or the system's when it is empty. */
function domainResolver(servers: readonly string[] = getConfig().PAGODA_DNS_RESOLVER): Resolver {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (servers.length > 0) resolver.setServers([...servers]);
  return resolver;
}

const NO_RECORD = new Set(["ENODATA", "ENOTFOUND"]);

function codeOf(error: unknown): string {
  return typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : "unknown";
}

/** The records of one type, [] when the name has none, or the failure when DNS did not answer. */
async function lookup<T>(what: string, run: () => Promise<T[]>): Promise<T[] | { failed: string }> {
  try {
    return await run();
  } catch (error) {
    const code = codeOf(error);
    if (NO_RECORD.has(code)) return [];
    return { failed: `The DNS lookup of ${what} failed (${code}); it is tried again.` };
  }
}

const shown = (values: readonly string[]) => {
  const text = values.slice(0, 4).join(", ");
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
};

/**
 * Whether `name`'s DNS proves what it must: the TXT record
 * `_pagoda-challenge.<name>` holds `token`, and the name (a CNAME to the
 * ingress host, or A/AAAA records all among the ingress addresses) points at
 * the ingress.
 */
async function checkDomain(resolver: Resolver, name: string, token: string, target: IngressTarget): Promise<CheckResult> {
  const txtName = challengeName(name);
  const txt = await lookup(`TXT ${txtName}`, () => resolver.resolveTxt(txtName));
  if ("failed" in txt) return { ok: false, definitive: false, reason: txt.failed };
  const texts = txt.map((chunks) => chunks.join(""));
  if (texts.length === 0) return { ok: false, definitive: true, reason: `No TXT record at ${txtName}.` };
  if (!texts.includes(token)) {
    return { ok: false, definitive: true, reason: `The TXT record at ${txtName} does not hold this domain's token (it holds: ${shown(texts)}).` };
  }

  const host = pointingName(name);
  const wanted = target.hostname ? normaliseDomain(target.hostname) : null;
  const cname = await lookup(`CNAME ${host}`, () => resolver.resolveCname(host));
  if ("failed" in cname) return { ok: false, definitive: false, reason: cname.failed };
  if (wanted && cname.some((value) => normaliseDomain(value) === wanted)) return { ok: true };
  const expected = [wanted ? `a CNAME to ${wanted}` : null, target.addresses.length > 0 ? `A/AAAA records among ${target.addresses.join(", ")}` : null]
    .filter(Boolean)
    .join(", or ");
  // A CNAME elsewhere is a definite answer, whatever its target resolves to (or fails to).
  const elsewhere: CheckResult | null =
    cname.length > 0 ? { ok: false, definitive: true, reason: `${host} is a CNAME to ${shown(cname)}; it needs ${expected}.` } : null;
  if (target.addresses.length === 0) return elsewhere ?? { ok: false, definitive: true, reason: `${host} has no CNAME record; it needs ${expected}.` };

  const v4 = await lookup(`A ${host}`, () => resolver.resolve4(host));
  if ("failed" in v4) return elsewhere ?? { ok: false, definitive: false, reason: v4.failed };
  const v6 = await lookup(`AAAA ${host}`, () => resolver.resolve6(host));
  if ("failed" in v6) return elsewhere ?? { ok: false, definitive: false, reason: v6.failed };
  const found = [...v4, ...v6];
  const allowed = new Set(target.addresses);
  if (found.length === 0) return elsewhere ?? { ok: false, definitive: true, reason: `${host} has no A or AAAA record; it needs ${expected}.` };
  const stray = found.filter((address) => !allowed.has(address));
  if (stray.length > 0) {
    return (
      elsewhere ?? { ok: false, definitive: true, reason: `${host} points at ${shown(stray)}, which is not this installation's ingress; it needs ${expected}.` }
    );
  }
  return { ok: true };
}

const FAILURE_REASON_MAX = 512;

/** How long a claimed row stays out of other replicas' reach while it is checked. */
const CLAIM_LEASE_MS = 120_000;
/** Rows one pass claims; the rest wait for the next. */
const CLAIM_LIMIT = 20;

interface Claimed {
  id: string;
  name: string;
  verificationToken: string;
  state: DomainState;
  attempts: number;
  lostSince: Date | null;
  siteId: string;
  tenantId: string;
}

interface CheckTimings {
  retryMs: number;
  recheckMs: number;
  graceMs: number;
}

function timingsOf(config: Config = getConfig()): CheckTimings {
  return {
    retryMs: config.PAGODA_DOMAIN_RETRY_SECONDS * 1000,
    recheckMs: config.PAGODA_DOMAIN_RECHECK_SECONDS * 1000,
    graceMs: config.PAGODA_DOMAIN_GRACE_SECONDS * 1000,
  };
}

/**
 * Takes the due rows for this process: FOR UPDATE SKIP LOCKED, so a row
 * another replica is claiming is passed over rather than waited for, and a
 * lease on nextCheckAt, so once claimed it is not due for anyone else while
 * its DNS is looked up.
 */
async function claimDue(now: Date, limit: number): Promise<Claimed[]> {
  return db().$transaction(async (tx) => {
    const rows = await tx.$queryRaw<Claimed[]>`
      SELECT id, name, "verificationToken", state, attempts, "lostSince", "siteId", "tenantId"
      FROM "Domain" WHERE "nextCheckAt" <= ${now}
      ORDER BY "nextCheckAt" LIMIT ${limit}
      FOR UPDATE SKIP LOCKED`;
    if (rows.length > 0) {
      await tx.domain.updateMany({ where: { id: { in: rows.map((row) => row.id) } }, data: { nextCheckAt: new Date(now.getTime() + CLAIM_LEASE_MS) } });
    }
    return rows;
  });
}

type Outcome = "verified" | "still-verified" | "pending" | "lost" | "still-lost" | "taken-off" | "unanswered";

/** Applies one check's verdict to its row; returns what happened and whether the site's StaticSite must change. */
async function applyResult(row: Claimed, result: CheckResult, now: Date, timings: CheckTimings): Promise<{ outcome: Outcome; republish: boolean }> {
  const retry = (attempts: number) =>
    new Date(now.getTime() + backoffDelay(attempts, { baseMs: timings.retryMs, maxMs: Math.max(timings.retryMs, timings.recheckMs) }));
  const recheck = new Date(now.getTime() + timings.recheckMs);
  const where = { id: row.id };
  const audit = (action: string, details: Record<string, unknown>) => ({
    action,
    outcome: "success" as const,
    tenantId: row.tenantId,
    actorId: null,
    target: row.name,
    details: { by: "verification", ...details },
  });

  if (row.state !== "verified") {
    if (result.ok) {
      await db().$transaction(async (tx) => {
        const updated = await tx.domain.updateMany({
          where,
          data: { state: "verified", verifiedAt: now, lastCheckedAt: now, lostSince: null, failureReason: null, attempts: 0, nextCheckAt: recheck },
        });
        if (updated.count > 0) await recordAudit(audit("domain.verified", { attempts: row.attempts + 1 }), tx);
      });
      return { outcome: "verified", republish: true };
    }
    const attempts = row.attempts + 1;
    await db().domain.updateMany({ where, data: { attempts, failureReason: result.reason, lastCheckedAt: now, nextCheckAt: retry(attempts) } });
    return { outcome: "pending", republish: false };
  }

  if (result.ok) {
    await db().domain.updateMany({ where, data: { lastCheckedAt: now, lostSince: null, failureReason: null, attempts: 0, nextCheckAt: recheck } });
    return { outcome: "still-verified", republish: false };
  }
  const attempts = row.attempts + 1;
  if (!result.definitive) {
    // No answer says nothing about the records: keep serving, and ask again soon.
    await db().domain.updateMany({ where, data: { attempts, failureReason: result.reason, lastCheckedAt: now, nextCheckAt: retry(attempts) } });
    return { outcome: "unanswered", republish: false };
  }
  const lostSince = row.lostSince ?? now;
  const removeAt = lostSince.getTime() + timings.graceMs;
  if (now.getTime() >= removeAt) {
    const reason = `Taken off the site: its records were missing from ${lostSince.toISOString()} for longer than the grace period. ${result.reason}`;
    await db().$transaction(async (tx) => {
      const updated = await tx.domain.updateMany({
        where,
        data: { state: "failed", failureReason: reason.slice(0, FAILURE_REASON_MAX), lastCheckedAt: now, attempts: 0, nextCheckAt: retry(1) },
      });
      if (updated.count > 0)
        await recordAudit(audit("domain.removed", { reason: "records_lost", lostSince: lostSince.toISOString(), check: result.reason }), tx);
    });
    return { outcome: "taken-off", republish: true };
  }
  // Checked again at the retry pace, and once more when the grace period ends.
  const next = new Date(Math.min(retry(attempts).getTime(), removeAt));
  await db().$transaction(async (tx) => {
    const updated = await tx.domain.updateMany({ where, data: { lostSince, attempts, failureReason: result.reason, lastCheckedAt: now, nextCheckAt: next } });
    if (updated.count > 0 && !row.lostSince) await recordAudit(audit("domain.lost", { check: result.reason, removeAt: new Date(removeAt).toISOString() }), tx);
  });
  return { outcome: row.lostSince ? "still-lost" : "lost", republish: false };
}

export interface RunOptions {
  now?: Date;
  resolver?: Resolver;
  config?: Config;
  limit?: number;
}

/** Checks every domain that is due (up to the claim limit) and applies the verdicts; returns how many it checked. */
export async function runDueChecks(options: RunOptions = {}): Promise<number> {
  const config = options.config ?? getConfig();
  const now = options.now ?? new Date();
  const resolver = options.resolver ?? domainResolver(config.PAGODA_DNS_RESOLVER);
  const target = { hostname: config.PAGODA_INGRESS_HOSTNAME, addresses: config.PAGODA_INGRESS_ADDRESSES };
  const timings = timingsOf(config);
  const rows = await claimDue(now, options.limit ?? CLAIM_LIMIT);
  const republish = new Set<string>();
  // All at once: a pass then lasts as long as its slowest lookup (seconds), well inside the claim's lease.
  const checkOne = async (row: Claimed) => {
    try {
      const checked = await checkDomain(resolver, row.name, row.verificationToken, target);
      // Domain.failureReason holds 512 characters; a long name and what DNS held can make more.
      const result = checked.ok ? checked : { ...checked, reason: checked.reason.slice(0, FAILURE_REASON_MAX) };
      const applied = await applyResult(row, result, now, timings);
      if (applied.republish) republish.add(row.siteId);
      const level = applied.outcome === "pending" || applied.outcome === "still-verified" ? "debug" : applied.outcome === "unanswered" ? "warn" : "info";
      log[level]({ domain: row.name, siteId: row.siteId, outcome: applied.outcome, reason: result.ok ? undefined : result.reason }, "domain checked");
    } catch (error) {
      // The lease brings the row back after CLAIM_LEASE_MS.
      log.error({ err: error, domain: row.name, siteId: row.siteId }, "checking a domain failed");
    }
  };
  await Promise.all(rows.map(checkOne));
  for (const siteId of republish) await publishPromotedDeploy(siteId);
  return rows.length;
}

/** The loop's longest sleep: a row added by another replica, or whose lease ran out, is found within it. */
const MAX_IDLE_MS = 30_000;

/**
 * The dashboard's verification loop, once per process: checks what is due,
 * then sleeps until the next row is (at most MAX_IDLE_MS), or until a
 * domain is added here.
 */
export function startDomainVerification(): void {
  processSingleton("domainVerification", () => {
    let timer: NodeJS.Timeout | null = null;
    let running = false;
    let again = false;

    const schedule = (ms: number) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void pass(), ms);
      timer.unref();
    };

    const pass = async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      let delay = MAX_IDLE_MS;
      try {
        const checked = await runDueChecks();
        const next = await db().domain.findFirst({ orderBy: { nextCheckAt: "asc" }, select: { nextCheckAt: true } });
        delay = checked > 0 ? 0 : next ? Math.min(MAX_IDLE_MS, Math.max(0, next.nextCheckAt.getTime() - Date.now())) : MAX_IDLE_MS;
      } catch (error) {
        log.error({ err: error }, "the domain verification pass failed; it runs again shortly");
      } finally {
        running = false;
      }
      schedule(again ? 0 : delay);
      again = false;
    };

    setDomainWaker(() => schedule(0));
    schedule(0);
    log.info("domain verification started");
    return true;
  });
}
