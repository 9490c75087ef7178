process.env.PAGODA_INGRESS_HOSTNAME = "ingress.pagoda-edge.test";
process.env.PAGODA_INGRESS_ADDRESSES = "203.0.113.10";
process.env.PAGODA_BASE_DOMAIN = "sites.pagoda-base.test";
process.env.NEXTAUTH_URL = "https://dashboard.pagoda-admin.test";

import { randomUUID } from "node:crypto";
import { NextRequest } from "next/server";
import { beforeAll, describe, expect, it } from "vitest";
import { endpoints } from "@/lib/api/endpoints";
import { openApiDocument } from "@/lib/api/openapi";
import { documentSchemaValidator, responseRef } from "@/lib/api/test-support";
import { createApiToken } from "@/lib/auth/api-tokens";
import { db } from "@/lib/db";
import { DomainError } from "@/lib/errors";
import { createSite } from "@/lib/sites/sites";
import { DOMAINS_MAX } from "@/lib/staticsite/schema";
import { actorFor, type TenantActor } from "@/lib/tenancy/access";
import { newAccount } from "@/tests/support/accounts";
import { addDomain, listDomains, removeDomain } from "./domains";
import * as domainsRoute from "@/app/api/tenants/[tenant]/sites/[site]/domains/route";
import * as domainRoute from "@/app/api/tenants/[tenant]/sites/[site]/domains/[domain]/route";

/**
 * Adding, listing and removing custom domains on a real Postgres: every
 * refusal the issue lists (each with its code, and nothing written), the
 * installation-wide uniqueness, owners only, and tenant isolation through
 * the domain functions and the routes.
 */
let alice: TenantActor;
let mallory: TenantActor;
let bobMember: TenantActor;

const uniq = () => randomUUID().slice(0, 8);

beforeAll(async () => {
  ({ actor: alice } = await newAccount("alice"));
  ({ actor: mallory } = await newAccount("mallory"));
  const bob = await newAccount("bob");
  await db().membership.create({ data: { userId: bob.userId, tenantId: alice.tenantId, role: "member" } });
  bobMember = await actorFor(bob.userId, alice.tenantSlug);
  await createSite(alice, { name: "shop" }, null);
  await createSite(alice, { name: "blog" }, null);
  await createSite(mallory, { name: "shop" }, null);
});

async function refusal(promise: Promise<unknown>): Promise<{ kind: string; code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return { kind: error.constructor.name, code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a refusal");
}

/** What an add or remove writes, to show a refusal wrote none of it. */
async function written() {
  return { domains: await db().domain.count(), audit: await db().auditEvent.count({ where: { action: { startsWith: "domain." } } }) };
}

describe("adding a domain", () => {
  it("stores the ASCII form, pending, with a token and the records to create, and audits it", async () => {
    const name = `www.${uniq()}.customer.test`;
    const view = await addDomain(alice, "shop", { name: ` ${name.toUpperCase()}. ` }, "198.51.100.7");
    expect(view).toMatchObject({ name, unicodeName: name, state: "pending", phase: "pending_verification", reason: null, attempts: 0, lostSince: null });
    expect(view.records.txt).toEqual({ type: "TXT", name: `_pagoda-challenge.${name}`, value: expect.stringMatching(/^pagoda-[0-9a-f]{32}$/) });
    expect(view.records.target).toEqual([
      { type: "CNAME", name, value: "ingress.pagoda-edge.test" },
      { type: "A", name, value: "203.0.113.10" },
    ]);
    const row = await db().domain.findUniqueOrThrow({ where: { name } });
    expect(row).toMatchObject({ tenantId: alice.tenantId, state: "pending", verificationToken: view.records.txt.value });
    const audit = await db().auditEvent.findFirstOrThrow({ where: { action: "domain.added", target: name } });
    expect(audit).toMatchObject({ tenantId: alice.tenantId, actorId: alice.userId, ip: "198.51.100.7", outcome: "success" });
    expect((await listDomains(alice, "shop")).map((d) => d.name)).toContain(name);
  });

  it("gives every domain its own token", async () => {
    const a = await addDomain(alice, "blog", { name: `a.${uniq()}.customer.test` }, null);
    const b = await addDomain(alice, "blog", { name: `b.${uniq()}.customer.test` }, null);
    expect(a.records.txt.value).not.toBe(b.records.txt.value);
  });

  it("stores an IDN as punycode and shows its Unicode form beside it", async () => {
    const label = uniq();
    const view = await addDomain(alice, "blog", { name: `Bücher-${label}.customer.test` }, null);
    expect(view.name).toMatch(/^xn--/);
    expect(view.unicodeName).toBe(`bücher-${label}.customer.test`);
  });

  it.each([
    ["an invalid name", "exa mple.customer.test", "domain_invalid"],
    ["a single label", "customer", "domain_single_label"],
    ["a wildcard", "*.customer.test", "domain_wildcard"],
    ["the dashboard's own host", "Dashboard.Pagoda-Admin.test.", "domain_dashboard_host"],
    ["a name under the dashboard's host", "x.dashboard.pagoda-admin.test", "domain_dashboard_host"],
    ["the base domain", "sites.pagoda-base.test", "domain_base_domain"],
    ["a name under the base domain", "shop-alice.sites.pagoda-base.test", "domain_base_domain"],
    ["a label mixing Latin and Cyrillic", "\u0430pple.customer.test", "domain_mixed_scripts"],
  ])("refuses %s with its own code, and writes nothing", async (_, name, code) => {
    const before = await written();
    const error = await refusal(addDomain(alice, "shop", { name }, null));
    expect(error).toMatchObject({ kind: "ValidationError", code });
    expect(await written()).toEqual(before);
  });

  it("shows the punycode of a mixed-script name in the refusal", async () => {
    expect((await refusal(addDomain(alice, "shop", { name: "\u0430pple.customer.test" }, null))).message).toContain("xn--pple-43d.customer.test");
  });

  it("refuses a domain another tenant's site has with domain_taken, naming no one, and writes nothing", async () => {
    const name = `www.${uniq()}.customer.test`;
    await addDomain(alice, "shop", { name }, null);
    const before = await written();
    const error = await refusal(addDomain(mallory, "shop", { name: name.toUpperCase() }, null));
    expect(error).toMatchObject({ kind: "ConflictError", code: "domain_taken" });
    expect(error.message).not.toContain(alice.tenantSlug);
    expect(await written()).toEqual(before);
    expect(await db().domain.findUniqueOrThrow({ where: { name }, select: { tenantId: true } })).toEqual({ tenantId: alice.tenantId });
  });

  it("refuses a domain another site of the same tenant has with domain_taken, and the same site's with domain_exists", async () => {
    const name = `www.${uniq()}.customer.test`;
    await addDomain(alice, "shop", { name }, null);
    expect(await refusal(addDomain(alice, "blog", { name }, null))).toMatchObject({ code: "domain_taken" });
    expect(await refusal(addDomain(alice, "shop", { name }, null))).toMatchObject({ code: "domain_exists" });
  });

  it("lets exactly one of two simultaneous adds of a name win, across tenants", async () => {
    const name = `race.${uniq()}.customer.test`;
    const results = await Promise.allSettled([addDomain(alice, "shop", { name }, null), addDomain(mallory, "shop", { name }, null)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: "domain_taken" });
    expect(await db().domain.count({ where: { name } })).toBe(1);
  });

  it("holds a site to the domains a StaticSite can carry, also when the last free place is asked for twice at once", async () => {
    const { actor: carol } = await newAccount("carol");
    await createSite(carol, { name: "full" }, null);
    const tag = uniq();
    for (let i = 1; i < DOMAINS_MAX; i++) await addDomain(carol, "full", { name: `d${i}.${tag}.customer.test` }, null);
    const last = await Promise.allSettled([
      addDomain(carol, "full", { name: `last-a.${tag}.customer.test` }, null),
      addDomain(carol, "full", { name: `last-b.${tag}.customer.test` }, null),
    ]);
    expect(last.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect((last.find((r) => r.status === "rejected") as PromiseRejectedResult).reason).toMatchObject({ code: "quota_domains" });
    const before = await written();
    expect(await refusal(addDomain(carol, "full", { name: `more.${tag}.customer.test` }, null))).toMatchObject({ kind: "QuotaError", code: "quota_domains" });
    expect(await written()).toEqual(before);
    expect(await db().domain.count({ where: { tenantId: carol.tenantId } })).toBe(DOMAINS_MAX);
  });

  it("is for owners only: a member is refused and nothing is written", async () => {
    const before = await written();
    expect(await refusal(addDomain(bobMember, "shop", { name: `m.${uniq()}.customer.test` }, null))).toMatchObject({ kind: "ForbiddenError" });
    expect(await refusal(listDomains(bobMember, "shop"))).toMatchObject({ kind: "ForbiddenError" });
    expect(await written()).toEqual(before);
  });
});

describe("tenant isolation", () => {
  it("another tenant's site is not found, to list, add or remove", async () => {
    await createSite(alice, { name: "private" }, null);
    const name = `www.${uniq()}.customer.test`;
    await addDomain(alice, "private", { name }, null);
    const before = await written();
    expect(await refusal(listDomains(mallory, "private"))).toMatchObject({ kind: "NotFoundError" });
    expect(await refusal(addDomain(mallory, "private", { name: `x.${uniq()}.customer.test` }, null))).toMatchObject({ kind: "NotFoundError" });
    expect(await refusal(removeDomain(mallory, "private", name, null))).toMatchObject({ kind: "NotFoundError" });
    expect(await written()).toEqual(before);
  });

  it("another tenant's domain cannot be removed through one's own site, nor listed there", async () => {
    const name = `www.${uniq()}.customer.test`;
    await addDomain(alice, "shop", { name }, null);
    expect(await refusal(removeDomain(mallory, "shop", name, null))).toMatchObject({ kind: "NotFoundError" });
    expect((await listDomains(mallory, "shop")).map((d) => d.name)).not.toContain(name);
    // Nor one site's domain through another site of the same tenant.
    expect(await refusal(removeDomain(alice, "blog", name, null))).toMatchObject({ kind: "NotFoundError" });
    expect(await db().domain.count({ where: { name } })).toBe(1);
  });
});

describe("removing a domain", () => {
  it("deletes the row by either form of the name and audits it", async () => {
    const label = uniq();
    const view = await addDomain(alice, "blog", { name: `www.bücher-${label}.customer.test` }, null);
    await removeDomain(alice, "blog", view.unicodeName, "198.51.100.8");
    expect(await db().domain.count({ where: { name: view.name } })).toBe(0);
    expect(await db().auditEvent.findFirstOrThrow({ where: { action: "domain.removed", target: view.name } })).toMatchObject({ ip: "198.51.100.8" });
  });
});

const doc = openApiDocument();
const validatorAt = documentSchemaValidator(doc);
const LIST_PATH = "/api/tenants/{tenant}/sites/{site}/domains";
const ONE_PATH = "/api/tenants/{tenant}/sites/{site}/domains/{domain}";

function expectDocumented(method: "get" | "post" | "delete", path: string, status: number, body: unknown): void {
  const endpoint = endpoints.find((e) => e.path === path && e.method === method)!;
  expect(Object.keys(endpoint.responses).concat(Object.keys(endpoint.errors)), `${method} ${path} documents ${status}`).toContain(String(status));
  if (status >= 400) expect(validatorAt("#/components/schemas/Error")(body)).toEqual([]);
  else if (body !== null) expect(validatorAt(responseRef(method, path, status))(body)).toEqual([]);
}

describe("the routes", () => {
  let aliceToken: string;
  let malloryToken: string;

  beforeAll(async () => {
    ({ token: aliceToken } = await createApiToken(alice, { name: "ci", scopes: ["read", "deploy"] }, null));
    ({ token: malloryToken } = await createApiToken(mallory, { name: "mallory-ci", scopes: ["read", "deploy"] }, null));
  });

  async function call(method: string, tenant: string, site: string, token: string, domain?: string, body?: unknown) {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const path = `/api/tenants/${tenant}/sites/${site}/domains${domain ? `/${encodeURIComponent(domain)}` : ""}`;
    const request = new NextRequest(new URL(path, "http://localhost:3000"), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(text === undefined ? {} : { "content-type": "application/json" }) },
      ...(text === undefined ? {} : { body: text }),
    });
    const response = domain
      ? await domainRoute.DELETE(request, { params: Promise.resolve({ tenant, site, domain }) })
      : method === "GET"
        ? await domainsRoute.GET(request, { params: Promise.resolve({ tenant, site }) })
        : await domainsRoute.POST(request, { params: Promise.resolve({ tenant, site }) });
    const raw = await response.text();
    const json = raw === "" ? null : (JSON.parse(raw) as { error?: { code: string } });
    expectDocumented(method.toLowerCase() as "get" | "post" | "delete", domain ? ONE_PATH : LIST_PATH, response.status, json);
    return { status: response.status, json };
  }

  it("refuse API tokens, whatever their scopes: domains are an owner's, signed in", async () => {
    const name = `www.${uniq()}.customer.test`;
    await addDomain(alice, "shop", { name }, null);
    const before = await written();
    expect(await call("GET", alice.tenantSlug, "shop", aliceToken)).toMatchObject({ status: 403, json: { error: { code: "token_not_allowed" } } });
    expect(await call("POST", alice.tenantSlug, "shop", aliceToken, undefined, { name: `t.${uniq()}.customer.test` })).toMatchObject({ status: 403 });
    expect(await call("DELETE", alice.tenantSlug, "shop", aliceToken, name)).toMatchObject({ status: 403 });
    expect(await written()).toEqual(before);
  });

  it("answer another tenant's token for this tenant's site with 404, through every route", async () => {
    const name = `www.${uniq()}.customer.test`;
    await addDomain(alice, "shop", { name }, null);
    const before = await written();
    expect(await call("GET", alice.tenantSlug, "shop", malloryToken)).toMatchObject({ status: 404 });
    expect(await call("POST", alice.tenantSlug, "shop", malloryToken, undefined, { name: `t.${uniq()}.customer.test` })).toMatchObject({ status: 404 });
    expect(await call("DELETE", alice.tenantSlug, "shop", malloryToken, name)).toMatchObject({ status: 404 });
    expect(await written()).toEqual(before);
  });
});
