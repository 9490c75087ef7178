/**
 * The API as documented: real responses of the real route handlers, on a
 * real Postgres, checked against the schemas of the generated OpenAPI
 * document (not the zod schemas it came from). Each answer's status must be
 * one the document lists for that operation, and its body must validate;
 * every refusal must be the one error shape. Bearer requests never read
 * cookies, so the handlers run here as in the dashboard; the sign-up and
 * sign-in routes check their CSRF and limits from the request itself.
 */
process.env.PAGODA_API_TOKEN_REQUESTS_PER_MINUTE = "40";

import { createHash, randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { NextRequest } from "next/server";
import { beforeAll, describe, expect, it } from "vitest";
import { endpoints, type Endpoint } from "@/lib/api/endpoints";
import { openApiDocument } from "@/lib/api/openapi";
import { documentSchemaValidator, responseRef } from "@/lib/api/test-support";
import { createApiToken, revokeApiToken } from "@/lib/auth/api-tokens";
import { consumeAttempt } from "@/lib/auth/rate-limit";
import { generateToken } from "@/lib/auth/token-format";
import { getConfig } from "@/lib/config";
import { db } from "@/lib/db";
import { createSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { buildZip, patchEntry } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";
import * as artifactRoute from "@/app/api/artifacts/[digest]/route";
import * as authRoute from "@/app/api/auth/[...nextauth]/route";
import * as healthRoute from "@/app/api/healthz/route";
import * as openapiRoute from "@/app/api/openapi.json/route";
import * as signupRoute from "@/app/api/signup/route";
import * as sitesRoute from "@/app/api/tenants/[tenant]/sites/route";
import * as siteRoute from "@/app/api/tenants/[tenant]/sites/[site]/route";
import * as deploysRoute from "@/app/api/tenants/[tenant]/sites/[site]/deploys/route";
import * as promoteRoute from "@/app/api/tenants/[tenant]/sites/[site]/deploys/[deploy]/promote/route";
import * as statusRoute from "@/app/api/tenants/[tenant]/sites/[site]/status/route";
import * as tokenRoute from "@/app/api/token/route";

type Handler = (request: NextRequest, context: { params: Promise<Record<string, unknown>> }) => Promise<Response> | Response;

const doc = openApiDocument();
const validatorAt = documentSchemaValidator(doc);
const ORIGIN = "http://localhost:3000";

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

async function call(
  operationId: string,
  handler: unknown,
  opts: { url: string; params?: Record<string, unknown>; headers?: Record<string, string>; body?: BodyInit; type?: string },
): Promise<Answer & { endpoint: Endpoint }> {
  const endpoint = endpoints.find((e) => e.operationId === operationId);
  if (!endpoint) throw new Error(`no operation ${operationId}`);
  const body = opts.body;
  const request = new NextRequest(new URL(opts.url, ORIGIN), {
    method: endpoint.method.toUpperCase(),
    headers: {
      ...(opts.type ? { "content-type": opts.type } : {}),
      ...(typeof body === "string" ? { "content-length": String(Buffer.byteLength(body)) } : {}),
      ...(body instanceof Uint8Array ? { "content-length": String(body.byteLength) } : {}),
      ...opts.headers,
    },
    ...(body === undefined ? {} : { body, duplex: "half" }),
  } as ConstructorParameters<typeof NextRequest>[1]);
  const response = await (handler as Handler)(request, { params: Promise.resolve(opts.params ?? {}) });
  const type = response.headers.get("content-type") ?? "";
  // An event stream is checked by its headers only: reading it would wait for events.
  if (type.startsWith("text/event-stream")) {
    await response.body?.cancel();
    return { status: response.status, headers: response.headers, body: null, endpoint };
  }
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: type.includes("json") && text ? JSON.parse(text) : text, endpoint };
}

/** The answer's status is documented for its operation, and its body validates against the documented schema. */
function expectDocumented(answer: Answer & { endpoint: Endpoint }, status: number): void {
  const { endpoint } = answer;
  expect({ status: answer.status, body: answer.body }).toMatchObject({ status });
  const listed = Object.keys(endpoint.responses).concat(Object.keys(endpoint.errors));
  expect(listed, `${endpoint.operationId} does not document ${status}`).toContain(String(status));
  const op = doc.paths?.[endpoint.path]?.[endpoint.method];
  const content = (op?.responses?.[String(status) as "200"] as { content?: Record<string, unknown> } | undefined)?.content;
  if (content?.["application/json"]) {
    expect(validatorAt(responseRef(endpoint.method, endpoint.path, status))(answer.body)).toEqual([]);
  } else {
    expect(Object.keys(content ?? {}).map((t) => answer.headers.get("content-type")?.startsWith(t))).not.toContain(false);
  }
  if (status >= 400) expect(validatorAt("#/components/schemas/Error")(answer.body)).toEqual([]);
  if (status === 429) expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
}

let alice: TenantActor;
let other: TenantActor;
let full: string;
let readOnly: string;
let revoked: string;
let limited: string;
let zip: Buffer;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const sitePath = (tenant: string, site: string) => `/api/tenants/${tenant}/sites/${site}`;

beforeAll(async () => {
  process.env.PAGODA_ARTIFACT_ROOT = await mkdtemp(path.join(os.tmpdir(), "pagoda-contract-"));
  ({ actor: alice } = await newAccount("contract"));
  ({ actor: other } = await newAccount("contract-other"));
  await createSite(alice, { name: "handbook" }, null);
  await createSite(other, { name: "theirs" }, null);
  full = (await createApiToken(alice, { name: "ci", scopes: ["read", "deploy"] }, null)).token;
  readOnly = (await createApiToken(alice, { name: "reader", scopes: ["read"] }, null)).token;
  limited = (await createApiToken(alice, { name: "busy", scopes: ["read"] }, null)).token;
  const gone = await createApiToken(alice, { name: "gone", scopes: ["read"] }, null);
  await revokeApiToken(alice, gone.view.id, null);
  revoked = gone.token;
  zip = await buildZip([{ name: "index.html", data: "<h1>contract</h1>" }]);
});

describe("successful answers match the document", () => {
  it("GET /api/token, the site list, one site, an upload with a message, the history, a promotion and the status stream", async () => {
    expectDocumented(await call("getToken", tokenRoute.GET, { url: "/api/token", headers: bearer(full) }), 200);
    const params = { tenant: alice.tenantSlug, site: "handbook" };
    expectDocumented(await call("listSites", sitesRoute.GET, { url: `/api/tenants/${alice.tenantSlug}/sites`, params, headers: bearer(full) }), 200);
    expectDocumented(await call("getSite", siteRoute.GET, { url: sitePath(alice.tenantSlug, "handbook"), params, headers: bearer(readOnly) }), 200);

    const uploaded = await call("uploadDeploy", deploysRoute.POST, {
      url: `${sitePath(alice.tenantSlug, "handbook")}/deploys?message=${encodeURIComponent("First version — with “quotes”")}`,
      params,
      headers: { ...bearer(full), "user-agent": "pagoda-cli/0.1.0" },
      body: new Uint8Array(zip),
      type: "application/zip",
    });
    expectDocumented(uploaded, 201);
    const deploy = (uploaded.body as { deploy: { id: string; message: string; source: string } }).deploy;
    expect(deploy).toMatchObject({ message: "First version — with “quotes”", source: "cli" });

    const history = await call("listDeploys", deploysRoute.GET, {
      url: `${sitePath(alice.tenantSlug, "handbook")}/deploys`,
      params,
      headers: bearer(readOnly),
    });
    expectDocumented(history, 200);
    expect((history.body as { deploys: unknown[] }).deploys).toHaveLength(1);

    expectDocumented(
      await call("promoteDeploy", promoteRoute.POST, {
        url: `${sitePath(alice.tenantSlug, "handbook")}/deploys/${deploy.id}/promote`,
        params: { ...params, deploy: deploy.id },
        headers: bearer(full),
      }),
      200,
    );
    expectDocumented(
      await call("siteStatus", statusRoute.GET, { url: `${sitePath(alice.tenantSlug, "handbook")}/status`, params, headers: bearer(readOnly) }),
      200,
    );
  });

  it("the service routes: liveness and this very document", async () => {
    expectDocumented(await call("healthz", healthRoute.GET, { url: "/api/healthz" }), 200);
    const served = await call("openapi", openapiRoute.GET, { url: "/api/openapi.json" });
    expectDocumented(served, 200);
    expect(served.body).toEqual(JSON.parse(JSON.stringify(doc)));
    expect(served.headers.get("cache-control")).toMatch(/^public/);
  });
});

describe("each kind of refusal is documented and has the one error shape", () => {
  const params = () => ({ tenant: alice.tenantSlug, site: "handbook" });
  const list = () => `/api/tenants/${alice.tenantSlug}/sites`;

  it.each([
    ["malformed", () => "Bearer not-a-token", "token_malformed"],
    ["well-formed but unknown", () => `Bearer ${generateToken().token}`, "token_unknown"],
    ["revoked", () => `Bearer ${revoked}`, "token_revoked"],
  ])("401 for a %s token", async (_kind, header, code) => {
    const answer = await call("listSites", sitesRoute.GET, { url: list(), params: params(), headers: { authorization: header() } });
    expectDocumented(answer, 401);
    expect((answer.body as { error: { code: string } }).error.code).toBe(code);
  });

  it("401 for a token in the query string, even a valid one", async () => {
    const answer = await call("listSites", sitesRoute.GET, { url: `${list()}?token=${full}`, params: params(), headers: bearer(full) });
    expectDocumented(answer, 401);
  });

  it("403 for a read token that deploys, and for a token on a route only a person may use", async () => {
    expectDocumented(
      await call("uploadDeploy", deploysRoute.POST, {
        url: `${sitePath(alice.tenantSlug, "handbook")}/deploys`,
        params: params(),
        headers: bearer(readOnly),
        body: new Uint8Array(zip),
        type: "application/zip",
      }),
      403,
    );
    expectDocumented(
      await call("createSite", sitesRoute.POST, {
        url: list(),
        params: params(),
        headers: bearer(full),
        body: JSON.stringify({ name: "planted" }),
        type: "application/json",
      }),
      403,
    );
    expectDocumented(await call("deleteSite", siteRoute.DELETE, { url: sitePath(alice.tenantSlug, "handbook"), params: params(), headers: bearer(full) }), 403);
  });

  it("404 for another workspace and for a site that does not exist", async () => {
    expectDocumented(
      await call("getSite", siteRoute.GET, {
        url: sitePath(other.tenantSlug, "theirs"),
        params: { tenant: other.tenantSlug, site: "theirs" },
        headers: bearer(full),
      }),
      404,
    );
    expectDocumented(
      await call("listDeploys", deploysRoute.GET, {
        url: `${sitePath(alice.tenantSlug, "nope")}/deploys`,
        params: { tenant: alice.tenantSlug, site: "nope" },
        headers: bearer(full),
      }),
      404,
    );
  });

  it("400 for a deploy message that is not one line, 415 for a body that is not a zip, 422 naming the entry of a crafted zip", async () => {
    const upload = (query: string, body: Uint8Array<ArrayBuffer>, type: string) =>
      call("uploadDeploy", deploysRoute.POST, {
        url: `${sitePath(alice.tenantSlug, "handbook")}/deploys${query}`,
        params: params(),
        headers: bearer(full),
        body,
        type,
      });
    const before = await db().deploy.count({ where: { site: { tenantId: alice.tenantId } } });
    const multiLine = await upload(`?message=${encodeURIComponent("one\ntwo")}`, new Uint8Array(zip), "application/zip");
    expectDocumented(multiLine, 400);
    expect((multiLine.body as { error: { code: string } }).error.code).toBe("invalid_input");
    expectDocumented(await upload("", new TextEncoder().encode("<html></html>"), "text/html"), 415);
    const crafted = await patchEntry(
      await buildZip([
        { name: "index.html", data: "x" },
        { name: "a/xx/xx/etc/passwd", data: "x" },
      ]),
      "a/xx/xx/etc/passwd",
      { rename: "a/../../etc/passwd" },
    );
    const refused = await upload("", new Uint8Array(crafted), "application/zip");
    expectDocumented(refused, 422);
    expect((refused.body as { error: { entry?: string } }).error.entry).toBe("a/../../etc/passwd");
    // Nothing was stored by any of them.
    expect(await db().deploy.count({ where: { site: { tenantId: alice.tenantId } } })).toBe(before);
  });

  it("413 for a zip over the workspace's archive quota", async () => {
    await db().tenant.update({ where: { id: other.tenantId }, data: { maxArchiveBytes: 64 } });
    const token = (await createApiToken(other, { name: "small", scopes: ["deploy"] }, null)).token;
    const answer = await call("uploadDeploy", deploysRoute.POST, {
      url: `${sitePath(other.tenantSlug, "theirs")}/deploys`,
      params: { tenant: other.tenantSlug, site: "theirs" },
      headers: bearer(token),
      body: new Uint8Array(zip),
      type: "application/zip",
    });
    expectDocumented(answer, 413);
  });

  it("409 for promoting a deploy that has no finished artifact", async () => {
    const site = await db().site.findFirstOrThrow({ where: { tenantId: alice.tenantId, name: "handbook" } });
    const processing = await db().deploy.create({ data: { siteId: site.id, state: "processing" } });
    expectDocumented(
      await call("promoteDeploy", promoteRoute.POST, {
        url: `${sitePath(alice.tenantSlug, "handbook")}/deploys/${processing.id}/promote`,
        params: { ...params(), deploy: processing.id },
        headers: bearer(full),
      }),
      409,
    );
  });

  it("429 with Retry-After once a token has used up its requests for the minute", async () => {
    let answer: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 41 && answer?.status !== 429; i += 1) {
      answer = await call("getSite", siteRoute.GET, { url: sitePath(alice.tenantSlug, "handbook"), params: params(), headers: bearer(limited) });
    }
    expectDocumented(answer!, 429);
  });

  describe("sign-up, which a browser page calls with next-auth's CSRF cookie", () => {
    const secret = () => process.env.NEXTAUTH_SECRET!;
    const csrf = () => {
      const token = randomBytes(32).toString("hex");
      const hash = createHash("sha256").update(`${token}${secret()}`).digest("hex");
      return { cookie: `next-auth.csrf-token=${encodeURIComponent(`${token}|${hash}`)}`, "x-csrf-token": token };
    };
    const ip = () => `198.51.100.${Math.floor(Math.random() * 200) + 1}`;
    const signUp = (body: string, headers: Record<string, string>, type = "application/json") =>
      call("signUp", signupRoute.POST, { url: "/api/signup", body, type, headers });
    const person = () =>
      JSON.stringify({ name: "Contract", email: `contract-${randomBytes(4).toString("hex")}@example.com`, password: "a long and varied passphrase" });

    it("201, then 409 for the same email, 400 for a bad one, 403 without the CSRF header, 415 and 413", async () => {
      const from = ip();
      const body = person();
      expectDocumented(await signUp(body, { ...csrf(), "x-forwarded-for": from }), 201);
      expectDocumented(await signUp(body, { ...csrf(), "x-forwarded-for": from }), 409);
      const invalid = await signUp(JSON.stringify({ name: "x", email: "not-an-email", password: "a long and varied passphrase" }), {
        ...csrf(),
        "x-forwarded-for": ip(),
      });
      expectDocumented(invalid, 400);
      expect((invalid.body as { error: { fields?: Record<string, string> } }).error.fields).toHaveProperty("email");
      expectDocumented(await signUp(person(), { "x-forwarded-for": ip(), cookie: csrf().cookie }), 403);
      expectDocumented(await signUp(person(), { ...csrf(), "x-forwarded-for": ip() }, "text/plain"), 415);
      expectDocumented(await signUp(JSON.stringify({ pad: "x".repeat(20_000) }), { ...csrf(), "x-forwarded-for": ip() }), 413);
    });

    it("429 with Retry-After past the sign-ups of one address", async () => {
      const from = ip();
      // The limiter is the real one, in Postgres: fill this address's allowance as ten sign-ups would.
      for (let i = 0; i < getConfig().PAGODA_SIGNUPS_PER_IP; i += 1) await consumeAttempt({ signUpIp: from });
      expectDocumented(await signUp(person(), { ...csrf(), "x-forwarded-for": from }), 429);
    });
  });

  it("sign-in past its limit: next-auth's url beside the one error shape", async () => {
    const email = `limited-${randomBytes(4).toString("hex")}@example.com`;
    for (let i = 0; i < getConfig().PAGODA_SIGNIN_ATTEMPTS_PER_EMAIL; i += 1) await consumeAttempt({ signInEmail: email });
    const answer = await call("nextAuthPost", authRoute.POST, {
      url: "/api/auth/callback/credentials",
      params: { nextauth: ["callback", "credentials"] },
      body: new URLSearchParams({ email, password: "whatever it is", csrfToken: "x", json: "true" }).toString(),
      type: "application/x-www-form-urlencoded",
      // An address of its own: the limiter is shared by the whole run, and other files count attempts by address.
      headers: { "x-forwarded-for": "192.0.2.201" },
    });
    expect(answer.status).toBe(429);
    const { url, ...rest } = answer.body as { url: string };
    expect(url).toMatch(/error=RateLimited/);
    expectDocumented({ ...answer, body: rest }, 429);
  });

  it("the artifact endpoint's 404 for a bad signature", async () => {
    const hex = "0".repeat(64);
    expectDocumented(await call("getArtifact", artifactRoute.GET, { url: `/api/artifacts/${hex}?sig=nope`, params: { digest: hex } }), 404);
  });
});
