import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { endpoints } from "@/lib/api/endpoints";
import { openApiDocument } from "@/lib/api/openapi";
import { documentSchemaValidator, responseRef } from "@/lib/api/test-support";
import { createApiToken } from "@/lib/auth/api-tokens";
import { db } from "@/lib/db";
import { promoteDeploy } from "@/lib/deploys/promote";
import { uploadDeploy } from "@/lib/deploys/upload";
import { DomainError, NotFoundError, ValidationError } from "@/lib/errors";
import { dashboardKubeConfig } from "@/lib/publishing";
import { readStaticSite } from "@/lib/publishing/int-test-support";
import { getSiteSettings, listSettingsChanges, updateSiteSettings } from "@/lib/sites/settings";
import { createSite } from "@/lib/sites/sites";
import { actorFor, type TenantActor } from "@/lib/tenancy/access";
import { buildZip } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";
import { sharedCluster } from "@/tests/support/cluster";
import * as settingsRoute from "@/app/api/tenants/[tenant]/sites/[site]/settings/route";

/**
 * Site settings on a real Postgres and a real API server (which also holds
 * the StaticSite to its CEL rules): what a change stores, publishes and
 * records, and that every refusal leaves all of it as it was.
 */
let artifactRoot: string;
let alice: TenantActor;
let aliceName: string;
let mallory: TenantActor;

beforeAll(async () => {
  process.env.KUBECONFIG = sharedCluster().kubeconfigPath;
  artifactRoot = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  process.env.PAGODA_ARTIFACT_ROOT = artifactRoot;
  ({ actor: alice } = await newAccount("alice"));
  aliceName = "alice";
  ({ actor: mallory } = await newAccount("mallory"));
});

afterAll(async () => {
  await rm(artifactRoot, { recursive: true, force: true });
});

const SITE_FILES = [
  { name: "index.html", data: "<h1>home</h1>" },
  { name: "404.html", data: "<h1>lost</h1>" },
  { name: "docs/gone.html", data: "<h1>gone</h1>" },
  { name: "with space.html", data: "<h1>unnameable</h1>" },
  { name: "style.css", data: "h1{}" },
];

async function upload(actor: TenantActor, site: string, files = SITE_FILES) {
  const zip = await buildZip(files);
  return uploadDeploy(actor, site, { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: "127.0.0.1" });
}

/** Everything a settings change writes, to show a refusal wrote none of it. */
async function snapshot(actor: TenantActor, site: string) {
  const row = await db().site.findUniqueOrThrow({
    where: { tenantId_name: { tenantId: actor.tenantId, name: site } },
    select: { spa: true, notFoundPage: true, serving: true, updatedAt: true },
  });
  const spec = (await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, site))?.spec ?? null;
  return {
    row,
    spec: spec && { spa: spec.spa, notFoundPage: spec.notFoundPage, serving: spec.serving },
    changes: await db().siteSettingsChange.count({ where: { site: { tenantId: actor.tenantId, name: site } } }),
    audit: await db().auditEvent.count({ where: { tenantId: actor.tenantId, action: "site.settings" } }),
  };
}

async function refusal(promise: Promise<unknown>): Promise<{ kind: string; code: string; message: string; fields?: Record<string, string> }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError)
      return { kind: error.constructor.name, code: error.code, message: error.message, ...(error.fields ? { fields: error.fields } : {}) };
    if (error instanceof ZodError) return { kind: "ZodError", code: "invalid_input", message: error.issues[0]?.message ?? "" };
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("site settings", () => {
  it("offers the deploy's .html files whose names a StaticSite accepts, recorded at upload", async () => {
    await createSite(alice, { name: "pages" }, null);
    const deploy = await upload(alice, "pages");
    const settings = await getSiteSettings(alice, "pages");
    expect(settings).toMatchObject({ spa: false, notFoundPage: null, deploy: { id: deploy.id, shortDigest: deploy.shortDigest } });
    expect(settings.pages).toEqual(["/404.html", "/docs/gone.html", "/index.html"]);
    expect(settings.rules).toEqual({ redirects: null, headers: null });
  });

  it("shows the deploy's _redirects and _headers parsed, each rule with its line", async () => {
    await createSite(alice, { name: "ruled" }, null);
    await upload(alice, "ruled", [
      ...SITE_FILES,
      { name: "_redirects", data: "# moved pages\n/old /new 301\n\n/store id=:id /blog/:id 302!\n" },
      { name: "_headers", data: "/assets/*\n  Cache-Control: max-age=31536000\n  ! X-Robots-Tag\n" },
    ]);
    expect((await getSiteSettings(alice, "ruled")).rules).toEqual({
      redirects: {
        rules: [
          { line: 2, from: "/old", query: [], to: "/new", status: 301, force: false },
          { line: 4, from: "/store", query: ["id=:id"], to: "/blog/:id", status: 302, force: true },
        ],
        errors: [],
      },
      headers: {
        rules: [
          {
            line: 1,
            path: "/assets/*",
            headers: [
              { line: 2, name: "Cache-Control", value: "max-age=31536000" },
              { line: 3, name: "X-Robots-Tag", value: null },
            ],
          },
        ],
        errors: [],
      },
    });
    // A deploy without the files has no rules, even on a site whose earlier deploy had them.
    await upload(alice, "ruled");
    expect((await getSiteSettings(alice, "ruled")).rules).toEqual({ redirects: null, headers: null });
  });

  it("turns the SPA fallback on: the row, the StaticSite, the history and the audit log say so", async () => {
    await createSite(alice, { name: "client-app" }, null);
    await upload(alice, "client-app");
    const settings = await updateSiteSettings(alice, "client-app", { spa: true }, "203.0.113.5");
    expect(settings).toMatchObject({ spa: true, notFoundPage: null });
    expect((await readStaticSite(dashboardKubeConfig(), alice.tenantSlug, "client-app"))?.spec).toMatchObject({ spa: true });
    const [change] = await listSettingsChanges(alice, "client-app");
    expect(change).toMatchObject({ summary: "SPA fallback on", by: { kind: "user", name: aliceName } });
    expect(new Date(change!.createdAt).toISOString()).toBe(change!.createdAt);
    const audit = await db().auditEvent.findFirstOrThrow({ where: { tenantId: alice.tenantId, action: "site.settings" }, orderBy: { createdAt: "desc" } });
    expect(audit).toMatchObject({ outcome: "success", target: "client-app", actorId: alice.userId, ip: "203.0.113.5" });
    expect(audit.details).toEqual({
      before: { spa: false, notFoundPage: null, serving: "dedicated" },
      after: { spa: true, notFoundPage: null, serving: "dedicated" },
    });
  });

  it("switches from the SPA fallback to a 404 page in one request, and back to none", async () => {
    await createSite(alice, { name: "switch" }, null);
    await upload(alice, "switch");
    await updateSiteSettings(alice, "switch", { spa: true }, null);
    await updateSiteSettings(alice, "switch", { spa: false, notFoundPage: "/404.html" }, null);
    const spec = (await readStaticSite(dashboardKubeConfig(), alice.tenantSlug, "switch"))?.spec;
    expect(spec).toMatchObject({ spa: false, notFoundPage: "/404.html" });
    await updateSiteSettings(alice, "switch", { notFoundPage: null }, null);
    expect((await readStaticSite(dashboardKubeConfig(), alice.tenantSlug, "switch"))?.spec.notFoundPage).toBeUndefined();
    expect((await listSettingsChanges(alice, "switch")).map((c) => c.summary)).toEqual([
      "custom 404 page removed",
      "SPA fallback off, custom 404 page /404.html",
      "SPA fallback on",
    ]);
  });

  it("moves a site to the shared pool and back: the row, the StaticSite's spec.serving and the history follow", async () => {
    await createSite(alice, { name: "pooled" }, null);
    await upload(alice, "pooled");
    expect((await getSiteSettings(alice, "pooled")).serving).toBe("dedicated");
    expect((await readStaticSite(dashboardKubeConfig(), alice.tenantSlug, "pooled"))?.spec).not.toHaveProperty("serving");
    expect((await updateSiteSettings(alice, "pooled", { serving: "shared" }, null)).serving).toBe("shared");
    expect((await readStaticSite(dashboardKubeConfig(), alice.tenantSlug, "pooled"))?.spec.serving).toBe("shared");
    await updateSiteSettings(alice, "pooled", { serving: "dedicated", spa: true }, null);
    expect((await readStaticSite(dashboardKubeConfig(), alice.tenantSlug, "pooled"))?.spec).not.toHaveProperty("serving");
    expect((await listSettingsChanges(alice, "pooled")).map((c) => c.summary)).toEqual([
      "SPA fallback on, served by its own pods",
      "served by the shared pool",
    ]);
    const before = await snapshot(alice, "pooled");
    expect(await refusal(updateSiteSettings(alice, "pooled", { serving: "pool" }, null))).toMatchObject({
      code: "invalid_input",
      message: "serving is dedicated or shared.",
    });
    expect(await snapshot(alice, "pooled")).toEqual(before);
  });

  it("refuses the SPA fallback with a 404 page, whichever comes second, and changes nothing", async () => {
    await createSite(alice, { name: "both" }, null);
    await upload(alice, "both");
    await updateSiteSettings(alice, "both", { spa: true }, null);
    const before = await snapshot(alice, "both");
    const second = await refusal(updateSiteSettings(alice, "both", { notFoundPage: "/404.html" }, null));
    expect(second).toMatchObject({ kind: ValidationError.name, code: "spa_with_not_found_page" });
    expect(second.message).toMatch(/cannot be combined/);
    expect(second.fields).toHaveProperty("notFoundPage");
    expect(await refusal(updateSiteSettings(alice, "both", { spa: true, notFoundPage: "/404.html" }, null))).toMatchObject({ code: "spa_with_not_found_page" });
    expect(await snapshot(alice, "both")).toEqual(before);

    await updateSiteSettings(alice, "both", { spa: false, notFoundPage: "/404.html" }, null);
    const withPage = await snapshot(alice, "both");
    const first = await refusal(updateSiteSettings(alice, "both", { spa: true }, null));
    expect(first).toMatchObject({ code: "spa_with_not_found_page", fields: { spa: first.message } });
    expect(await snapshot(alice, "both")).toEqual(withPage);
  });

  it("takes as 404 page only an .html file of the deploy the site is pointed at", async () => {
    await createSite(alice, { name: "strict" }, null);
    const older = await upload(alice, "strict", [...SITE_FILES, { name: "old-404.html", data: "<h1>old</h1>" }]);
    await upload(alice, "strict");
    // Another workspace's deploy has a page this site's does not.
    await createSite(mallory, { name: "other" }, null);
    await upload(mallory, "other", [...SITE_FILES, { name: "planted.html", data: "<h1>planted</h1>" }]);
    const before = await snapshot(alice, "strict");
    for (const page of ["/old-404.html", "/planted.html", "/nope.html", "/docs"]) {
      const refused = await refusal(updateSiteSettings(alice, "strict", { notFoundPage: page }, null));
      expect(refused.code, page).toMatch(/^(not_found_page_missing|invalid_input)$/);
    }
    expect(await refusal(updateSiteSettings(alice, "strict", { notFoundPage: "/old-404.html" }, null))).toMatchObject({
      code: "not_found_page_missing",
      message: "/old-404.html is not an .html file of the deploy the site is pointed at. Choose one of its files.",
    });
    for (const [page, message] of [
      ["/style.css", "The 404 page must be an .html file."],
      ["404.html", "The 404 page's path starts with /, e.g. /404.html."],
      ["/../404.html", "The 404 page's path cannot contain “..”."],
      ["/docs/../404.html", "The 404 page's path cannot contain “..”."],
      ["/with space.html", "The 404 page's path can hold only letters, digits and . _ ~ / -."],
      [`/${"a".repeat(256)}.html`, "The 404 page's path can have at most 256 characters."],
    ] as const) {
      expect(await refusal(updateSiteSettings(alice, "strict", { notFoundPage: page }, null)), page).toMatchObject({ kind: "ZodError", message });
    }
    for (const body of [{}, { spa: "yes" }, { notFoundPage: 404 }, { spa: true, replicas: 3 }, null, "spa"]) {
      expect(await refusal(updateSiteSettings(alice, "strict", body, null)), JSON.stringify(body)).toMatchObject({ kind: "ZodError" });
    }
    expect(await snapshot(alice, "strict")).toEqual(before);
    // The older deploy's page becomes choosable once that deploy is promoted again.
    await promoteDeploy(alice, "strict", older.id, null);
    expect(await updateSiteSettings(alice, "strict", { notFoundPage: "/old-404.html" }, null)).toMatchObject({ notFoundPage: "/old-404.html" });
  });

  it("refuses a 404 page before the first deploy, and stores the SPA fallback for it", async () => {
    await createSite(alice, { name: "empty" }, null);
    expect(await refusal(updateSiteSettings(alice, "empty", { notFoundPage: "/404.html" }, null))).toMatchObject({ code: "no_deploy" });
    expect(await updateSiteSettings(alice, "empty", { spa: true }, null)).toMatchObject({ spa: true, deploy: null, pages: [] });
    await upload(alice, "empty");
    expect((await readStaticSite(dashboardKubeConfig(), alice.tenantSlug, "empty"))?.spec).toMatchObject({ spa: true });
  });

  it("records nothing for a request that changes nothing", async () => {
    await createSite(alice, { name: "same" }, null);
    await upload(alice, "same");
    const before = await snapshot(alice, "same");
    await updateSiteSettings(alice, "same", { spa: false, notFoundPage: null }, null);
    expect(await snapshot(alice, "same")).toEqual(before);
  });

  it("lets a member change settings, as a member may deploy", async () => {
    const helper = await newAccount("helper");
    await db().membership.create({ data: { userId: helper.userId, tenantId: alice.tenantId, role: "member" } });
    const asMember = await actorFor(helper.userId, alice.tenantSlug);
    await createSite(alice, { name: "team" }, null);
    await upload(alice, "team");
    await updateSiteSettings(asMember, "team", { notFoundPage: "/404.html" }, null);
    expect((await listSettingsChanges(alice, "team"))[0]).toMatchObject({ summary: "custom 404 page /404.html", by: { kind: "user", name: "helper" } });
  });

  it("never reads or changes another workspace's site: 404, as for a site that does not exist", async () => {
    await createSite(alice, { name: "private" }, null);
    await upload(alice, "private");
    const before = await snapshot(alice, "private");
    for (const attempt of [
      getSiteSettings(mallory, "private"),
      updateSiteSettings(mallory, "private", { spa: true }, null),
      updateSiteSettings(mallory, "private", { notFoundPage: "/404.html" }, null),
      listSettingsChanges(mallory, "private"),
    ]) {
      const outcome = await attempt.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      if ("value" in outcome) {
        // The history read answers with nothing rather than 404: it must be empty.
        expect(outcome.value).toEqual([]);
      } else {
        expect(outcome.error).toBeInstanceOf(NotFoundError);
        expect((outcome.error as Error).message).toBe("Site not found.");
      }
    }
    expect(await refusal(updateSiteSettings(alice, "no-such-site", { spa: true }, null))).toEqual({
      kind: NotFoundError.name,
      code: "not_found",
      message: "Site not found.",
    });
    expect(await snapshot(alice, "private")).toEqual(before);
  });
});

// ---- The route -------------------------------------------------------------

type Handler = (request: NextRequest, context: { params: Promise<Record<string, string>> }) => Promise<Response>;
const GET = settingsRoute.GET as unknown as Handler;
const PATCH = settingsRoute.PATCH as unknown as Handler;
const SETTINGS_PATH = "/api/tenants/{tenant}/sites/{site}/settings";
const doc = openApiDocument();
const validatorAt = documentSchemaValidator(doc);

/** Every answer is one the API document lists for its operation, and its body validates against the document's schema. */
function expectDocumented(method: "get" | "patch", status: number, body: unknown): void {
  const endpoint = endpoints.find((e) => e.path === SETTINGS_PATH && e.method === method)!;
  expect(Object.keys(endpoint.responses).concat(Object.keys(endpoint.errors)), `${method} documents ${status}`).toContain(String(status));
  expect(validatorAt(responseRef(method, SETTINGS_PATH, status))(body)).toEqual([]);
  if (status >= 400) expect(validatorAt("#/components/schemas/Error")(body)).toEqual([]);
}

async function send(handler: Handler, method: string, tenant: string, site: string, token: string, body?: unknown) {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const request = new NextRequest(new URL(`/api/tenants/${tenant}/sites/${site}/settings`, "http://localhost:3000"), {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(text === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) }),
    },
    ...(text === undefined ? {} : { body: text }),
  });
  const response = await handler(request, { params: Promise.resolve({ tenant, site }) });
  const raw = await response.text();
  const json = JSON.parse(raw) as { settings?: { spa: boolean }; error?: { code: string; message: string } };
  expectDocumented(method === "GET" ? "get" : "patch", response.status, json);
  return { status: response.status, text: raw, json };
}

describe("PATCH /api/tenants/{tenant}/sites/{site}/settings", () => {
  let deployToken: string;
  let readToken: string;
  let malloryToken: string;

  beforeAll(async () => {
    await createSite(alice, { name: "routed" }, null);
    await upload(alice, "routed");
    ({ token: deployToken } = await createApiToken(alice, { name: "ci", scopes: ["deploy"] }, null));
    ({ token: readToken } = await createApiToken(alice, { name: "reader", scopes: ["read"] }, null));
    ({ token: malloryToken } = await createApiToken(mallory, { name: "mallory-ci", scopes: ["read", "deploy"] }, null));
  });

  it("changes the settings with a deploy token, and the history names the token", async () => {
    const answer = await send(PATCH, "PATCH", alice.tenantSlug, "routed", deployToken, { spa: true });
    expect(answer.status).toBe(200);
    expect(answer.json?.settings).toMatchObject({ spa: true, notFoundPage: null, pages: ["/404.html", "/docs/gone.html", "/index.html"] });
    expect((await listSettingsChanges(alice, "routed"))[0]).toMatchObject({ summary: "SPA fallback on", by: { kind: "token", name: "ci" } });
    const audit = await db().auditEvent.findFirstOrThrow({ where: { tenantId: alice.tenantId, action: "site.settings", target: "routed" } });
    expect(audit.actorId).toBeNull();
    expect(audit.details).toMatchObject({ tokenName: "ci" });
  });

  it("answers a refusal with its status and code, never a 500, and changes nothing", async () => {
    const before = await snapshot(alice, "routed");
    const read = await send(PATCH, "PATCH", alice.tenantSlug, "routed", readToken, { spa: false });
    expect(read.status).toBe(403);
    expect(read.json?.error).toEqual({ code: "token_scope", message: "This token cannot deploy: it has the read scope only." });
    for (const [body, status, code] of [
      [{ notFoundPage: "/404.html" }, 400, "spa_with_not_found_page"],
      [{ spa: false, notFoundPage: "/nope.html" }, 400, "not_found_page_missing"],
      [{ spa: false, notFoundPage: "/../../etc/passwd.html" }, 400, "invalid_input"],
      [{ spa: "on" }, 400, "invalid_input"],
      [{}, 400, "invalid_input"],
    ] as const) {
      const answer = await send(PATCH, "PATCH", alice.tenantSlug, "routed", deployToken, body);
      expect({ status: answer.status, code: answer.json?.error?.code }, JSON.stringify(body)).toEqual({ status, code });
    }
    expect(await snapshot(alice, "routed")).toEqual(before);
    expect((await send(GET, "GET", alice.tenantSlug, "routed", readToken)).json?.settings).toMatchObject({ spa: true });
  });

  it("answers another workspace's token 404 on every method, the same as for a workspace that does not exist", async () => {
    const before = await snapshot(alice, "routed");
    const missing = await send(GET, "GET", "no-such-workspace", "routed", malloryToken);
    expect(missing.status).toBe(404);
    for (const answer of [
      await send(GET, "GET", alice.tenantSlug, "routed", malloryToken),
      await send(PATCH, "PATCH", alice.tenantSlug, "routed", malloryToken, { spa: false }),
    ]) {
      expect(answer.status).toBe(404);
      expect(answer.text).toBe(missing.text);
    }
    const unknownSite = await send(PATCH, "PATCH", alice.tenantSlug, "no-such-site", deployToken, { spa: false });
    expect(unknownSite.status).toBe(404);
    expect(unknownSite.json?.error).toEqual({ code: "not_found", message: "Site not found." });
    expect(await snapshot(alice, "routed")).toEqual(before);
  });
});
