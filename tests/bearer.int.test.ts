/**
 * Bearer tokens against the real route handlers, as the CLI and CI call
 * them: isolation between workspaces, scopes, every refused kind of token,
 * and the routes that only a signed-in person may use. A request with an
 * Authorization header never reads cookies, so the handlers run here as
 * they do in the dashboard.
 */
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { NextRequest } from "next/server";
import { beforeAll, describe, expect, it } from "vitest";
import { createApiToken } from "@/lib/auth/api-tokens";
import { splitToken } from "@/lib/auth/token-format";
import { db } from "@/lib/db";
import { uploadDeploy } from "@/lib/deploys/upload";
import { createSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { buildZip } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";
import * as sitesRoute from "@/app/api/tenants/[tenant]/sites/route";
import * as siteRoute from "@/app/api/tenants/[tenant]/sites/[site]/route";
import * as deploysRoute from "@/app/api/tenants/[tenant]/sites/[site]/deploys/route";
import * as promoteRoute from "@/app/api/tenants/[tenant]/sites/[site]/deploys/[deploy]/promote/route";
import * as statusRoute from "@/app/api/tenants/[tenant]/sites/[site]/status/route";
import * as eventsRoute from "@/app/api/tenants/[tenant]/events/route";
import * as tokensRoute from "@/app/api/tenants/[tenant]/tokens/route";
import * as tokenRoute from "@/app/api/tenants/[tenant]/tokens/[token]/route";
import * as whoamiRoute from "@/app/api/token/route";
import * as passwordRoute from "@/app/api/account/password/route";
import * as signOutRoute from "@/app/api/account/sign-out-everywhere/route";

type Handler = (request: NextRequest, context: { params: Promise<Record<string, string>> }) => Promise<Response>;

/** A route handler, whatever its params, as the tests call it. */
function route<P>(handler: (request: NextRequest, context: { params: Promise<P> }) => Promise<Response>): Handler {
  return handler as unknown as Handler;
}

interface Call {
  method: string;
  path: string;
  handler: Handler;
  params: Record<string, string>;
  body?: BodyInit;
  type?: string;
}

const ORIGIN = "http://localhost:3000";

async function send(call: Call, headers: Record<string, string> = {}) {
  const body = call.body instanceof Uint8Array ? new Uint8Array(call.body) : call.body;
  const request = new NextRequest(new URL(call.path, ORIGIN), {
    method: call.method,
    headers: {
      ...(call.type ? { "content-type": call.type } : {}),
      ...(body instanceof Uint8Array ? { "content-length": String(body.byteLength) } : {}),
      ...headers,
    },
    ...(body === undefined ? {} : { body, duplex: "half" }),
  } as ConstructorParameters<typeof NextRequest>[1]);
  const response = await call.handler(request, { params: Promise.resolve(call.params) });
  const text = await response.text();
  return { status: response.status, text, json: text ? (JSON.parse(text) as { error?: { code: string; message: string } } & Record<string, unknown>) : null };
}

const bearer = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

let alice: TenantActor;
let mallory: TenantActor;
let zip: Buffer;
let aliceDeployId: string;
let aliceTokenId: string;
/** Mallory's own token, with every scope: the strongest thing she can hold. */
let malloryToken: string;

beforeAll(async () => {
  process.env.PAGODA_ARTIFACT_ROOT = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  ({ actor: alice } = await newAccount("alice"));
  ({ actor: mallory } = await newAccount("mallory"));
  await createSite(alice, { name: "private" }, null);
  await createSite(mallory, { name: "mine" }, null);
  zip = await buildZip([{ name: "index.html", data: "<h1>hello</h1>" }]);
  aliceDeployId = (await uploadDeploy(alice, "private", { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null })).id;
  aliceTokenId = (await createApiToken(alice, { name: "alice-ci", scopes: ["read", "deploy"] }, null)).view.id;
  malloryToken = (await createApiToken(mallory, { name: "mallory-ci", scopes: ["read", "deploy"] }, null)).token;
});

/** Every route under a workspace, aimed at `tenant`'s site `site`. */
function workspaceRoutes(tenant: string, site: string, deployId: string, tokenId: string): Call[] {
  const base = `/api/tenants/${tenant}`;
  const json = (value: unknown) => ({ body: JSON.stringify(value), type: "application/json" });
  return [
    { method: "GET", path: `${base}/sites`, handler: route(sitesRoute.GET), params: { tenant } },
    { method: "POST", path: `${base}/sites`, handler: route(sitesRoute.POST), params: { tenant }, ...json({ name: "planted" }) },
    { method: "GET", path: `${base}/sites/${site}`, handler: route(siteRoute.GET), params: { tenant, site } },
    { method: "DELETE", path: `${base}/sites/${site}`, handler: route(siteRoute.DELETE), params: { tenant, site } },
    { method: "GET", path: `${base}/sites/${site}/deploys`, handler: route(deploysRoute.GET), params: { tenant, site } },
    {
      method: "POST",
      path: `${base}/sites/${site}/deploys?message=planted`,
      handler: route(deploysRoute.POST),
      params: { tenant, site },
      body: new Uint8Array(zip),
      type: "application/zip",
    },
    {
      method: "POST",
      path: `${base}/sites/${site}/deploys/${deployId}/promote`,
      handler: route(promoteRoute.POST),
      params: { tenant, site, deploy: deployId },
      ...json({}),
    },
    { method: "GET", path: `${base}/sites/${site}/status`, handler: route(statusRoute.GET), params: { tenant, site } },
    { method: "GET", path: `${base}/events`, handler: route(eventsRoute.GET), params: { tenant } },
    { method: "GET", path: `${base}/tokens`, handler: route(tokensRoute.GET), params: { tenant } },
    { method: "POST", path: `${base}/tokens`, handler: route(tokensRoute.POST), params: { tenant }, ...json({ name: "planted", scopes: ["read"] }) },
    { method: "DELETE", path: `${base}/tokens/${tokenId}`, handler: route(tokenRoute.DELETE), params: { tenant, token: tokenId } },
  ];
}

/** What a workspace holds, to show that a refused request changed none of it. */
async function snapshot(actor: TenantActor) {
  const [sites, deploys, tokens, audit] = await Promise.all([
    db().site.findMany({ where: { tenantId: actor.tenantId }, select: { name: true, targetDeployId: true, updatedAt: true }, orderBy: { name: "asc" } }),
    db().deploy.findMany({ where: { site: { tenantId: actor.tenantId } }, select: { id: true, state: true, promotedAt: true }, orderBy: { id: "asc" } }),
    db().apiToken.findMany({ where: { tenantId: actor.tenantId }, select: { id: true, revokedAt: true }, orderBy: { id: "asc" } }),
    db().auditEvent.count({ where: { tenantId: actor.tenantId } }),
  ]);
  return { sites, deploys, tokens, audit };
}

describe("a token acts only in its own workspace", () => {
  it("gets 404 on every route of another workspace, the same answer as for no workspace, and changes nothing", async () => {
    const before = await snapshot(alice);
    const missing = await send(workspaceRoutes("no-such-workspace", "private", aliceDeployId, aliceTokenId)[0]!, bearer(malloryToken));
    expect(missing.status).toBe(404);
    for (const call of workspaceRoutes(alice.tenantSlug, "private", aliceDeployId, aliceTokenId)) {
      const answer = await send(call, bearer(malloryToken));
      expect(answer.status, `${call.method} ${call.path}`).toBe(404);
      expect(answer.text, `${call.method} ${call.path}`).toBe(missing.text);
    }
    expect(await snapshot(alice)).toEqual(before);
  });

  it("cannot reach another workspace's deploy through a site of its own", async () => {
    const before = await snapshot(alice);
    const answer = await send(
      {
        method: "POST",
        path: `/api/tenants/${mallory.tenantSlug}/sites/mine/deploys/${aliceDeployId}/promote`,
        handler: route(promoteRoute.POST),
        params: { tenant: mallory.tenantSlug, site: "mine", deploy: aliceDeployId },
        body: "{}",
        type: "application/json",
      },
      bearer(malloryToken),
    );
    expect(answer.status).toBe(404);
    expect(answer.json!.error).toEqual({ code: "not_found", message: "Deploy not found." });
    expect(await snapshot(alice)).toEqual(before);
  });
});

describe("scopes", () => {
  it("a read token reads but cannot deploy or promote: 403, and nothing is stored", async () => {
    const { token } = await createApiToken(alice, { name: "reader", scopes: ["read"] }, null);
    const routes = workspaceRoutes(alice.tenantSlug, "private", aliceDeployId, aliceTokenId);
    const list = await send(routes[4]!, bearer(token));
    expect(list.status).toBe(200);
    expect((list.json as { deploys: { id: string }[] }).deploys.map((d) => d.id)).toContain(aliceDeployId);
    const before = await snapshot(alice);
    for (const call of [routes[5]!, routes[6]!]) {
      const answer = await send(call, bearer(token));
      expect(answer.status, call.path).toBe(403);
      expect(answer.json!.error).toEqual({ code: "token_scope", message: "This token cannot deploy: it has the read scope only." });
    }
    expect(await snapshot(alice)).toEqual(before);
  });

  it("a deploy token cannot read", async () => {
    const { token } = await createApiToken(alice, { name: "deploy-only", scopes: ["deploy"] }, null);
    const answer = await send(workspaceRoutes(alice.tenantSlug, "private", aliceDeployId, aliceTokenId)[0]!, bearer(token));
    expect(answer.status).toBe(403);
    expect(answer.json!.error!.message).toBe("This token cannot read this workspace: it has the deploy scope only.");
  });

  it("no token, whatever its scopes, may create or delete sites or manage tokens", async () => {
    const { token } = await createApiToken(alice, { name: "everything", scopes: ["read", "deploy"] }, null);
    const routes = workspaceRoutes(alice.tenantSlug, "private", aliceDeployId, aliceTokenId);
    const before = await snapshot(alice);
    for (const call of [routes[1]!, routes[3]!, routes[9]!, routes[10]!, routes[11]!]) {
      const answer = await send(call, bearer(token));
      expect(answer.status, `${call.method} ${call.path}`).toBe(403);
      expect(answer.json!.error).toEqual({ code: "token_not_allowed", message: "API tokens cannot do this. Sign in to the dashboard to do it." });
    }
    expect(await snapshot(alice)).toEqual(before);
  });

  it("account routes refuse any token, even a valid one", async () => {
    const { token } = await createApiToken(alice, { name: "account", scopes: ["read", "deploy"] }, null);
    for (const handler of [passwordRoute.POST, signOutRoute.POST]) {
      const answer = await send(
        { method: "POST", path: "/api/account/x", handler: route(handler), params: {}, body: JSON.stringify({}), type: "application/json" },
        bearer(token),
      );
      expect(answer.status).toBe(403);
      expect(answer.json!.error!.code).toBe("token_not_allowed");
    }
  });
});

describe("deploying with a token", () => {
  it("deploys with its message, recorded as the CLI or the API by the client, and audited with the token", async () => {
    const { token, view } = await createApiToken(alice, { name: "release-bot", scopes: ["read", "deploy"] }, null);
    const upload = (message: string, agent: string) =>
      send(
        {
          method: "POST",
          path: `/api/tenants/${alice.tenantSlug}/sites/private/deploys?message=${encodeURIComponent(message)}`,
          handler: route(deploysRoute.POST),
          params: { tenant: alice.tenantSlug, site: "private" },
          body: new Uint8Array(zip),
          type: "application/zip",
        },
        bearer(token, { "user-agent": agent }),
      );
    const fromCli = await upload("Release 1.2 ✓", "pagoda-cli/0.1.0 node/24");
    expect(fromCli.status).toBe(201);
    expect((fromCli.json as { deploy: unknown }).deploy).toMatchObject({
      message: "Release 1.2 ✓",
      source: "cli",
      createdBy: { kind: "token", name: "release-bot" },
    });
    const fromCurl = await upload("by hand", "curl/8.5.0");
    expect((fromCurl.json as { deploy: unknown }).deploy).toMatchObject({ source: "api", createdBy: { kind: "token", name: "release-bot" } });
    const audit = await db().auditEvent.findFirstOrThrow({
      where: { tenantId: alice.tenantId, action: "deploy.upload", outcome: "success" },
      orderBy: { createdAt: "desc" },
    });
    expect(audit.actorId).toBeNull();
    expect(audit.details).toMatchObject({ tokenId: view.id, tokenName: "release-bot" });
  });

  it.each([
    ["a newline", "first\nsecond", "A deploy message must be one line: no newlines, control characters, text-direction overrides or broken characters."],
    ["501 characters", "x".repeat(501), "A deploy message can be at most 500 characters."],
  ])("refuses a message with %s before reading the zip, storing nothing", async (_label, message, expected) => {
    const { token } = await createApiToken(alice, { name: `msg-${message.length}`, scopes: ["deploy"] }, null);
    const before = await snapshot(alice);
    const answer = await send(
      {
        method: "POST",
        path: `/api/tenants/${alice.tenantSlug}/sites/private/deploys?message=${encodeURIComponent(message)}`,
        handler: route(deploysRoute.POST),
        params: { tenant: alice.tenantSlug, site: "private" },
        body: new Uint8Array(zip),
        type: "application/zip",
      },
      bearer(token),
    );
    expect(answer.status).toBe(400);
    expect(answer.json!.error).toMatchObject({ code: "invalid_input", message: expected });
    expect(await snapshot(alice)).toEqual(before);
  });
});

describe("refused tokens", () => {
  const sitesOf = (tenant: string): Call => ({ method: "GET", path: `/api/tenants/${tenant}/sites`, handler: route(sitesRoute.GET), params: { tenant } });

  it("refuses an expired token with 401 and says so", async () => {
    const { token, view } = await createApiToken(alice, { name: "expiring", scopes: ["read"], expiresAt: new Date(Date.now() + 60_000).toISOString() }, null);
    expect((await send(sitesOf(alice.tenantSlug), bearer(token))).status).toBe(200);
    await db().apiToken.update({ where: { id: view.id }, data: { expiresAt: new Date(Date.now() - 1_000) } });
    const answer = await send(sitesOf(alice.tenantSlug), bearer(token));
    expect(answer.status).toBe(401);
    expect(answer.json!.error!.code).toBe("token_expired");
    expect(answer.json!.error!.message).toMatch(/^This API token expired on /);
  });

  it("refuses a revoked token with 401 on its next request", async () => {
    const { token, view } = await createApiToken(alice, { name: "revoked", scopes: ["read"] }, null);
    expect((await send(sitesOf(alice.tenantSlug), bearer(token))).status).toBe(200);
    await db().apiToken.update({ where: { id: view.id }, data: { revokedAt: new Date() } });
    const answer = await send(sitesOf(alice.tenantSlug), bearer(token));
    expect(answer.status).toBe(401);
    expect(answer.json!.error).toEqual({ code: "token_revoked", message: "This API token has been revoked." });
  });

  it("never accepts a token in the query string, even a valid one", async () => {
    const { token } = await createApiToken(alice, { name: "in-url", scopes: ["read", "deploy"] }, null);
    const before = await snapshot(alice);
    for (const query of [`access_token=${token}`, `token=${token}`, `message=${encodeURIComponent(token)}`]) {
      const call = sitesOf(alice.tenantSlug);
      for (const headers of [{}, bearer(token)]) {
        const answer = await send({ ...call, path: `${call.path}?${query}` }, headers);
        expect(answer.status, query).toBe(401);
        expect(answer.json!.error!.code).toBe("token_in_url");
      }
    }
    const whoami = await send({ method: "GET", path: `/api/token?access_token=${token}`, handler: route(whoamiRoute.GET), params: {} });
    expect(whoami.json!.error!.code).toBe("token_in_url");
    expect(await snapshot(alice)).toEqual(before);
  });

  it.each([
    ["empty", "", "The Authorization header is empty."],
    ["no scheme", "TOKEN", 'The Authorization header needs the scheme before the token: "Bearer <token>".'],
    ["Basic", `Basic ${Buffer.from("alice:secret").toString("base64")}`, 'Only API tokens are accepted in the Authorization header, as "Bearer <token>".'],
    ["Bearer alone", "Bearer", 'The Authorization header has no token after "Bearer".'],
    ["two tokens", "Bearer TOKEN TOKEN", "The Authorization header must carry exactly one token."],
    ["two headers", "Bearer TOKEN, Bearer TOKEN", "The Authorization header must carry exactly one token."],
    ["overlong", `Bearer TOKEN${"A".repeat(300)}`, "The Authorization header is longer than the 256 characters a Pagoda API token needs."],
    ["bad characters", "Bearer pgd_<script>alert(1)</script>", "The API token has characters that a Pagoda API token never contains."],
    [
      "not a Pagoda token",
      "Bearer ghp_abcdefghijklmnopqrstuvwxyz0123456789",
      "This is not a Pagoda API token: those start with pgd_ and are 64 characters long.",
    ],
  ])("refuses an Authorization header that is %s with 401 and its own message, ignoring a valid session", async (_label, header, message) => {
    const { token } = await createApiToken(alice, { name: "real", scopes: ["read"] }, null);
    const answer = await send(sitesOf(alice.tenantSlug), { authorization: header.replaceAll("TOKEN", token), cookie: "next-auth.session-token=anything" });
    expect(answer.status).toBe(401);
    expect(answer.json!.error!.code).toBe("token_malformed");
    expect(answer.json!.error!.message.startsWith(message)).toBe(true);
  });

  it("refuses a token of the right shape that does not exist, and a right id with a wrong secret, alike", async () => {
    const { token } = await createApiToken(alice, { name: "real-one", scopes: ["read"] }, null);
    const { publicId, secret } = splitToken(token)!;
    const unknown = await send(sitesOf(alice.tenantSlug), bearer(`pgd_${"q".repeat(16)}_${secret}`));
    const wrongSecret = await send(sitesOf(alice.tenantSlug), bearer(`pgd_${publicId}_${secret.startsWith("A") ? "B" : "A"}${secret.slice(1)}`));
    expect(unknown.status).toBe(401);
    expect(unknown.json!.error!.code).toBe("token_unknown");
    expect(wrongSecret.text).toBe(unknown.text);
  });
});

describe("GET /api/token", () => {
  const whoami = (headers: Record<string, string>) => send({ method: "GET", path: "/api/token", handler: route(whoamiRoute.GET), params: {} }, headers);

  it("describes the token and its workspace", async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const { token } = await createApiToken(alice, { name: "laptop", scopes: ["deploy", "read"], expiresAt }, null);
    const answer = await whoami(bearer(token));
    expect(answer.status).toBe(200);
    const tenant = await db().tenant.findUniqueOrThrow({ where: { id: alice.tenantId } });
    expect(answer.json).toEqual({
      token: { name: "laptop", scopes: ["read", "deploy"], expiresAt, workspace: { slug: alice.tenantSlug, name: tenant.name } },
    });
  });

  it("asks for a token when there is none, and refuses a bad one like every route", async () => {
    expect((await whoami({})).json!.error).toEqual({ code: "token_missing", message: 'Send an API token in the Authorization header: "Bearer <token>".' });
    expect((await whoami({ authorization: "Basic eA==" })).status).toBe(401);
  });
});
