import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseConfig } from "@/lib/config";
import { db } from "@/lib/db";
import { uploadDeploy } from "@/lib/deploys/upload";
import { dashboardKubeConfig } from "@/lib/publishing";
import { eventually, readStaticSite } from "@/lib/publishing/int-test-support";
import { publishPromotedDeploy } from "@/lib/publishing/publish";
import { createSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { buildZip } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";
import { sharedCluster } from "@/tests/support/cluster";
import { sharedDnsServer } from "@/tests/support/dns";
import { addDomain, removeDomain } from "./domains";
import { runDueChecks } from "./verify";

/**
 * Domain verification against a real DNS server (Knot, started by the
 * integration set-up, zone `test`), a real Postgres and a real API server:
 * what verifies a domain and publishes it, how a pending one backs off, and
 * how a verified one whose records go is reported and, after the grace
 * period, taken off its StaticSite. Timings are short, through configuration.
 */
process.env.PAGODA_INGRESS_HOSTNAME = "ingress.pagoda-edge.test";
process.env.PAGODA_INGRESS_ADDRESSES = "203.0.113.10";
process.env.PAGODA_DNS_RESOLVER = inject("dnsServer").address;
process.env.PAGODA_DOMAIN_RETRY_SECONDS = "1";
process.env.PAGODA_DOMAIN_RECHECK_SECONDS = "2";
process.env.PAGODA_DOMAIN_GRACE_SECONDS = "2";

const dns = sharedDnsServer();
const ALL = 1000;
let artifactRoot: string;
let alice: TenantActor;

beforeAll(async () => {
  process.env.KUBECONFIG = sharedCluster().kubeconfigPath;
  artifactRoot = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  process.env.PAGODA_ARTIFACT_ROOT = artifactRoot;
  ({ actor: alice } = await newAccount("alice"));
});

afterAll(async () => {
  await rm(artifactRoot, { recursive: true, force: true });
});

const uniq = () => randomUUID().slice(0, 8);

async function deployedSite(name: string): Promise<void> {
  await createSite(alice, { name }, null);
  const zip = await buildZip([{ name: "index.html", data: "<h1>shop</h1>" }]);
  await uploadDeploy(alice, name, { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: "127.0.0.1" });
}

async function specDomains(site: string): Promise<string[]> {
  const ss = await readStaticSite(dashboardKubeConfig(), alice.tenantSlug, site);
  if (!ss) throw new Error(`no StaticSite for ${site}`);
  return ss.spec.domains ?? [];
}

const row = (name: string) => db().domain.findUniqueOrThrow({ where: { name } });

/** Runs checks until `probe` holds for the domain's row, as the loop would. */
async function checkUntil(name: string, what: string, probe: (domain: Awaited<ReturnType<typeof row>>) => boolean) {
  return eventually(what, async () => {
    await runDueChecks({ limit: ALL });
    const domain = await row(name);
    return probe(domain) ? domain : undefined;
  });
}

describe("domain verification", () => {
  it("serves nothing until verified, then verifies through TXT + CNAME and writes the domain into spec.domains", async () => {
    await deployedSite("shop");
    const name = `www.${uniq()}.customer.test`;
    const view = await addDomain(alice, "shop", { name }, null);

    await checkUntil(name, "a first check", (d) => d.attempts > 0);
    expect(await row(name)).toMatchObject({ state: "pending", failureReason: `No TXT record at _pagoda-challenge.${name}.` });
    // Republished (as a promotion or the periodic restore would), the site still does not name it.
    await publishPromotedDeploy((await db().site.findFirstOrThrow({ where: { tenantId: alice.tenantId, name: "shop" } })).id);
    expect(await specDomains("shop")).toEqual([]);

    await dns.setRecords(`_pagoda-challenge.${name}`, "TXT", [view.records.txt.value]);
    await dns.setRecords(name, "CNAME", ["ingress.pagoda-edge.test."]);
    const verified = await checkUntil(name, "verification", (d) => d.state === "verified");
    expect(verified).toMatchObject({ failureReason: null, lostSince: null, attempts: 0 });
    expect(verified.verifiedAt).not.toBeNull();
    expect(await specDomains("shop")).toEqual([name]);
    expect(await db().auditEvent.count({ where: { action: "domain.verified", target: name, tenantId: alice.tenantId } })).toBe(1);
  });

  it("accepts A records among the ingress addresses and refuses others, saying where the name points", async () => {
    const good = `apex-${uniq()}.test`;
    const bad = `stray-${uniq()}.test`;
    await createSite(alice, { name: `a-${uniq()}` }, null).then(async (site) => {
      for (const name of [good, bad]) {
        const view = await addDomain(alice, site.name, { name }, null);
        await dns.setRecords(`_pagoda-challenge.${name}`, "TXT", ["some other text", view.records.txt.value]);
      }
    });
    await dns.setRecords(good, "A", ["203.0.113.10"]);
    await dns.setRecords(bad, "A", ["192.0.2.66"]);
    await checkUntil(good, "verification by A record", (d) => d.state === "verified");
    const refused = await checkUntil(bad, "a check of the stray address", (d) => d.attempts > 0);
    expect(refused.state).toBe("pending");
    expect(refused.failureReason).toContain("points at 192.0.2.66, which is not this installation's ingress");
  });

  it("refuses a TXT record that holds another token, and a CNAME to anywhere else", async () => {
    const name = `www.${uniq()}.customer.test`;
    const site = await createSite(alice, { name: `t-${uniq()}` }, null);
    const view = await addDomain(alice, site.name, { name }, null);
    await dns.setRecords(`_pagoda-challenge.${name}`, "TXT", ["pagoda-0123456789abcdef0123456789abcdef"]);
    expect((await checkUntil(name, "a check", (d) => d.attempts > 0)).failureReason).toContain("does not hold this domain's token");
    await dns.setRecords(`_pagoda-challenge.${name}`, "TXT", [view.records.txt.value]);
    await dns.setRecords(name, "CNAME", ["elsewhere.example.net."]);
    const refused = await checkUntil(name, "a check of the CNAME", (d) => d.failureReason?.includes("elsewhere") === true);
    expect(refused.state).toBe("pending");
  });

  it("keeps the reason of a long name with long wrong texts within its column, and the check counts", async () => {
    // 235 characters, so that its TXT name is the longest DNS allows (253).
    const name = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(29)}.${uniq()}.test`;
    const site = await createSite(alice, { name: `l-${uniq()}` }, null);
    await addDomain(alice, site.name, { name }, null);
    await dns.setRecords(`_pagoda-challenge.${name}`, "TXT", ["x".repeat(250), "y".repeat(250)]);
    const checked = await checkUntil(name, "a check", (d) => d.attempts > 0);
    expect(checked.failureReason).toContain("does not hold this domain's token");
    expect(checked.failureReason!.length).toBeLessThanOrEqual(512);
  });

  it("retries a pending domain with the backoff, the delay doubling from PAGODA_DOMAIN_RETRY_SECONDS", async () => {
    const name = `slow.${uniq()}.customer.test`;
    const site = await createSite(alice, { name: `b-${uniq()}` }, null);
    await addDomain(alice, site.name, { name }, null);
    // A long recheck, so the cap does not flatten the doubling within four attempts.
    const config = parseConfig({ ...process.env, PAGODA_DOMAIN_RECHECK_SECONDS: "3600" });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt += 1) {
      // The clock jumps to the row's next check, as time would bring it.
      const now = (await row(name)).nextCheckAt;
      await runDueChecks({ now, config, limit: ALL });
      const after = await row(name);
      expect(after).toMatchObject({ state: "pending", attempts: attempt });
      delays.push(after.nextCheckAt.getTime() - now.getTime());
    }
    delays.forEach((delay, i) => {
      const nominal = 1000 * 2 ** i;
      expect(delay, `delay after attempt ${i + 1}`).toBeGreaterThanOrEqual(nominal * 0.8);
      expect(delay, `delay after attempt ${i + 1}`).toBeLessThanOrEqual(nominal * 1.2);
    });
  });

  it("reports a verified domain whose TXT record goes, keeps serving it through the grace period, then takes it off", async () => {
    await deployedSite("lost");
    const name = `www.${uniq()}.customer.test`;
    const view = await addDomain(alice, "lost", { name }, null);
    await dns.setRecords(`_pagoda-challenge.${name}`, "TXT", [view.records.txt.value]);
    await dns.setRecords(name, "CNAME", ["ingress.pagoda-edge.test."]);
    await checkUntil(name, "verification", (d) => d.state === "verified");
    expect(await specDomains("lost")).toEqual([name]);

    await dns.removeRecords(`_pagoda-challenge.${name}`, "TXT");
    const lost = await checkUntil(name, "the loss to be seen", (d) => d.lostSince !== null);
    expect(lost).toMatchObject({ state: "verified", failureReason: `No TXT record at _pagoda-challenge.${name}.` });
    expect(await specDomains("lost")).toEqual([name]);
    expect(await db().auditEvent.count({ where: { action: "domain.lost", target: name } })).toBe(1);

    const removed = await checkUntil(name, "removal after the grace period", (d) => d.state === "failed");
    expect(removed.failureReason).toContain("Taken off the site");
    expect(removed.lastCheckedAt!.getTime() - lost.lostSince!.getTime()).toBeGreaterThanOrEqual(2000);
    expect(await specDomains("lost")).toEqual([]);
    const audit = await db().auditEvent.findFirstOrThrow({ where: { action: "domain.removed", target: name } });
    expect(audit.details).toMatchObject({ by: "verification", reason: "records_lost" });
  });

  it("a verified domain whose record comes back within the grace period stays", async () => {
    await deployedSite("back");
    const name = `www.${uniq()}.customer.test`;
    const view = await addDomain(alice, "back", { name }, null);
    await dns.setRecords(`_pagoda-challenge.${name}`, "TXT", [view.records.txt.value]);
    await dns.setRecords(name, "CNAME", ["ingress.pagoda-edge.test."]);
    await checkUntil(name, "verification", (d) => d.state === "verified");
    await dns.removeRecords(name, "CNAME");
    const lost = await checkUntil(name, "the loss to be seen", (d) => d.lostSince !== null);
    await dns.setRecords(name, "CNAME", ["ingress.pagoda-edge.test."]);
    // Checked at the loss's pace, which is never later than the end of the grace period.
    await runDueChecks({ now: lost.nextCheckAt, limit: ALL });
    expect(await row(name)).toMatchObject({ state: "verified", lostSince: null, failureReason: null });
    expect(await specDomains("back")).toEqual([name]);
  });

  it("removing a verified domain takes it off spec.domains at once", async () => {
    await deployedSite("gone");
    const name = `www.${uniq()}.customer.test`;
    const view = await addDomain(alice, "gone", { name }, null);
    await dns.setRecords(`_pagoda-challenge.${name}`, "TXT", [view.records.txt.value]);
    await dns.setRecords(name, "A", ["203.0.113.10"]);
    await checkUntil(name, "verification", (d) => d.state === "verified");
    expect(await specDomains("gone")).toEqual([name]);
    await removeDomain(alice, "gone", name, null);
    expect(await specDomains("gone")).toEqual([]);
  });

  it("passes over a row another replica holds instead of checking it twice or waiting for it", async () => {
    const name = `held.${uniq()}.customer.test`;
    const site = await createSite(alice, { name: `h-${uniq()}` }, null);
    await addDomain(alice, site.name, { name }, null);
    const due = (await row(name)).nextCheckAt;
    await db().$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM "Domain" WHERE name = ${name} FOR UPDATE`;
        await runDueChecks({ now: due, limit: ALL });
        expect(await row(name)).toMatchObject({ attempts: 0, lastCheckedAt: null });
      },
      { timeout: 20_000 },
    );
    await runDueChecks({ now: due, limit: ALL });
    expect(await row(name)).toMatchObject({ attempts: 1 });
    // Claimed once, it is not due for anyone else while it is checked (the lease).
    expect((await row(name)).nextCheckAt.getTime()).toBeGreaterThan(due.getTime());
  });
});
