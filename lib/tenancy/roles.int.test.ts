/**
 * Role escalation, driven from the endpoint list: every workspace route of
 * lib/api/endpoints.ts has a row here saying the weakest role that may use
 * it and the domain call its handler makes after resolving the caller
 * (requireActor, then lib/). A route added to the list without a row fails
 * the first test, so an owner-only route cannot be left unchecked. Then a
 * member tries every owner-only route and a viewer every route that changes
 * something: each is 403, and the workspace is exactly as before.
 */
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { endpoints } from "@/lib/api/endpoints";
import { openApiDocument } from "@/lib/api/openapi";
import { documentSchemaValidator } from "@/lib/api/test-support";
import { auditCsv, listAuditEvents, parseAuditQuery } from "@/lib/accounts/audit-log";
import { createInvitation, listInvitations, revokeInvitation } from "@/lib/accounts/invitations";
import { createApiToken, listApiTokens, revokeApiToken } from "@/lib/auth/api-tokens";
import { db } from "@/lib/db";
import { listDeploys } from "@/lib/deploys/list";
import { promoteDeploy } from "@/lib/deploys/promote";
import { uploadDeploy } from "@/lib/deploys/upload";
import { uploadDeployWithinLimits } from "@/lib/deploys/admission";
import { addDomain, listDomains, removeDomain } from "@/lib/domains/domains";
import { ForbiddenError } from "@/lib/errors";
import type { Role } from "@/lib/generated/prisma/client";
import { getSiteSettings, updateSiteSettings } from "@/lib/sites/settings";
import { createSite, deleteSite, getSite, getSiteRow, listSites } from "@/lib/sites/sites";
import { actorFor, type TenantActor } from "@/lib/tenancy/access";
import { changeMemberRole, listMembers, removeMember } from "@/lib/tenancy/members";
import { buildZip } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";
import { NextRequest } from "next/server";
import * as membersRoute from "@/app/api/tenants/[tenant]/members/route";
import * as memberRoute from "@/app/api/tenants/[tenant]/members/[member]/route";
import * as invitationsRoute from "@/app/api/tenants/[tenant]/invitations/route";
import * as invitationRoute from "@/app/api/tenants/[tenant]/invitations/[invitation]/route";
import * as acceptRoute from "@/app/api/invitations/accept/route";

interface Fixture {
  site: string;
  deployId: string;
  tokenId: string;
  invitationId: string;
  /** A member other than the caller, for the member routes. */
  otherUserId: string;
  zip: Buffer;
}

type Call = (actor: TenantActor, f: Fixture) => Promise<unknown>;

/** The weakest role each workspace route admits, and what its handler calls. */
const ROUTES: Record<string, { role: Role; call: Call }> = {
  listTokens: { role: "owner", call: (a) => listApiTokens(a) },
  createToken: { role: "owner", call: (a) => createApiToken(a, { name: "planted", scopes: ["read"] }, null) },
  revokeToken: { role: "owner", call: (a, f) => revokeApiToken(a, f.tokenId, null) },
  listMembers: { role: "owner", call: (a) => listMembers(a) },
  changeMemberRole: { role: "owner", call: (a, f) => changeMemberRole(a, f.otherUserId, { role: "owner" }, null) },
  removeMember: { role: "owner", call: (a, f) => removeMember(a, f.otherUserId, null) },
  listInvitations: { role: "owner", call: (a) => listInvitations(a) },
  createInvitation: { role: "owner", call: (a) => createInvitation(a, { email: "planted@example.com", role: "owner" }, null) },
  revokeInvitation: { role: "owner", call: (a, f) => revokeInvitation(a, f.invitationId, null) },
  listSites: { role: "viewer", call: (a) => listSites(a) },
  createSite: { role: "member", call: (a) => createSite(a, { name: "planted" }, null) },
  getSite: { role: "viewer", call: (a, f) => getSite(a, f.site) },
  deleteSite: { role: "owner", call: (a, f) => deleteSite(a, f.site, null) },
  getSiteSettings: { role: "viewer", call: (a, f) => getSiteSettings(a, f.site) },
  updateSiteSettings: { role: "member", call: (a, f) => updateSiteSettings(a, f.site, { spa: true }, null) },
  listDeploys: { role: "viewer", call: (a, f) => listDeploys(a, f.site) },
  uploadDeploy: {
    role: "member",
    call: async (a, f) => {
      await expectRefusal(uploadDeploy(a, f.site, { body: new Blob([new Uint8Array(f.zip)]).stream(), declaredLength: f.zip.length, ip: null }));
      return uploadDeployWithinLimits(a, f.site, { body: new Blob([new Uint8Array(f.zip)]).stream(), declaredLength: f.zip.length, ip: null });
    },
  },
  promoteDeploy: { role: "member", call: (a, f) => promoteDeploy(a, f.site, f.deployId, null) },
  listDomains: { role: "owner", call: (a, f) => listDomains(a, f.site) },
  addDomain: { role: "owner", call: (a, f) => addDomain(a, f.site, { name: "planted.example.com" }, null) },
  removeDomain: { role: "owner", call: (a, f) => removeDomain(a, f.site, "planted.example.com", null) },
  // The JSON page and, with format=csv, the export.
  listAuditEvents: {
    role: "owner",
    call: async (a) => {
      await expectRefusal(auditCsv(a, parseAuditQuery({ format: "csv" })));
      return listAuditEvents(a, parseAuditQuery({}));
    },
  },
  // Server-sent events: the handler resolves the caller, then reads the site or the workspace.
  siteStatus: { role: "viewer", call: (a, f) => getSiteRow(a, f.site) },
  workspaceEvents: { role: "viewer", call: (a) => listSites(a) },
};

const workspaceOperations = endpoints.filter((e) => e.path.startsWith("/api/tenants/{tenant}")).map((e) => ({ id: e.operationId, method: e.method }));

async function expectRefusal(work: Promise<unknown>): Promise<ForbiddenError> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ForbiddenError);
  return error as ForbiddenError;
}

let owner: TenantActor;
let member: TenantActor;
let viewer: TenantActor;
let fixture: Fixture;

async function joined(tenant: TenantActor, role: Role, label: string): Promise<TenantActor> {
  const { userId } = await newAccount(label);
  await db().membership.create({ data: { userId, tenantId: tenant.tenantId, role } });
  return actorFor(userId, tenant.tenantSlug);
}

/** Everything a workspace holds that a route could change. */
async function snapshot(tenantId: string) {
  const [tenant, memberships, invitations, tokens, sites, deploys, domains, audit] = await Promise.all([
    db().tenant.findUniqueOrThrow({ where: { id: tenantId } }),
    db().membership.findMany({ where: { tenantId }, orderBy: { id: "asc" } }),
    db().invitation.findMany({ where: { tenantId }, orderBy: { id: "asc" } }),
    db().apiToken.findMany({ where: { tenantId }, select: { id: true, revokedAt: true }, orderBy: { id: "asc" } }),
    db().site.findMany({ where: { tenantId }, orderBy: { id: "asc" } }),
    db().deploy.findMany({ where: { site: { tenantId } }, orderBy: { id: "asc" } }),
    db().domain.findMany({ where: { tenantId }, orderBy: { id: "asc" } }),
    db().auditEvent.count({ where: { tenantId } }),
  ]);
  return { tenant, memberships, invitations, tokens, sites, deploys, domains, audit };
}

beforeAll(async () => {
  process.env.PAGODA_ARTIFACT_ROOT = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  ({ actor: owner } = await newAccount("roles-owner"));
  member = await joined(owner, "member", "roles-member");
  viewer = await joined(owner, "viewer", "roles-viewer");
  const other = await joined(owner, "member", "roles-other");
  await createSite(owner, { name: "guarded" }, null);
  const zip = await buildZip([{ name: "index.html", data: "<h1>guarded</h1>" }]);
  const first = await uploadDeploy(owner, "guarded", { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null });
  await uploadDeploy(owner, "guarded", { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null });
  const token = await createApiToken(owner, { name: "guarded-ci", scopes: ["read", "deploy"] }, null);
  const invitation = await createInvitation(owner, { email: `roles-invitee-${Date.now()}@example.com`, role: "viewer" }, null);
  fixture = { site: "guarded", deployId: first.id, tokenId: token.view.id, invitationId: invitation.id, otherUserId: other.userId!, zip };
  ownerToken = token.token;
});

let ownerToken: string;
const validateError = documentSchemaValidator(openApiDocument())("#/components/schemas/Error");

type Handler = (request: NextRequest, context: { params: Promise<Record<string, string>> }) => Promise<Response>;

describe("role checks, from the endpoint list", () => {
  it("has a row for every workspace route, and no row for a route that does not exist", () => {
    expect(workspaceOperations.length).toBeGreaterThan(15);
    expect(Object.keys(ROUTES).sort()).toEqual([...new Set(workspaceOperations.map((o) => o.id))].sort());
  });

  it("lets a viewer use every route that only reads, so the refusals below are about the role", async () => {
    for (const { id, method } of workspaceOperations) {
      const row = ROUTES[id]!;
      if (method !== "get" || row.role !== "viewer") continue;
      await expect(row.call(viewer, fixture), id).resolves.toBeDefined();
    }
  });

  it("refuses a member every owner-only route with 403, and nothing changes", async () => {
    const before = await snapshot(owner.tenantId);
    const owned = workspaceOperations.filter((o) => ROUTES[o.id]!.role === "owner");
    expect(owned.map((o) => o.id)).toEqual(expect.arrayContaining(["createInvitation", "changeMemberRole", "createToken", "deleteSite", "addDomain"]));
    for (const { id } of owned) {
      const refusal = await expectRefusal(ROUTES[id]!.call(member, fixture));
      expect(refusal.code, id).toBe("role_required");
      expect(refusal.message, id).toMatch(/^Only owners of this workspace can do this\. You are a member/);
    }
    expect(await snapshot(owner.tenantId)).toEqual(before);
  });

  it("refuses a viewer every route that changes something with 403, and nothing changes", async () => {
    const before = await snapshot(owner.tenantId);
    const mutating = workspaceOperations.filter((o) => o.method !== "get");
    expect(mutating.length).toBeGreaterThan(10);
    for (const { id } of mutating) {
      const refusal = await expectRefusal(ROUTES[id]!.call(viewer, fixture));
      expect(refusal.code, id).toBe("role_required");
      expect(refusal.message, id).toContain("You are a viewer");
    }
    // The owner-only reads too: a viewer sees no tokens, members, invitations or domains.
    for (const { id } of workspaceOperations.filter((o) => o.method === "get" && ROUTES[o.id]!.role === "owner")) {
      await expectRefusal(ROUTES[id]!.call(viewer, fixture));
    }
    expect(await snapshot(owner.tenantId)).toEqual(before);
  });

  it("lets a member do what members may: create a site, deploy, promote, change settings", async () => {
    await createSite(member, { name: "members-own" }, null);
    const deploy = await uploadDeploy(member, "members-own", {
      body: new Blob([new Uint8Array(fixture.zip)]).stream(),
      declaredLength: fixture.zip.length,
      ip: null,
    });
    await expect(promoteDeploy(member, "members-own", deploy.id, null)).resolves.toMatchObject({ id: deploy.id });
    await expect(updateSiteSettings(member, "members-own", { spa: true }, null)).resolves.toMatchObject({ spa: true });
  });
});

describe("member and invitation routes refuse API tokens", () => {
  it("answers the owner's own token with every scope 403 token_not_allowed on each, and changes nothing", async () => {
    const before = await snapshot(owner.tenantId);
    const tenant = owner.tenantSlug;
    const base = `http://localhost:3000/api/tenants/${tenant}`;
    const calls: [string, string, Handler, Record<string, string>, unknown?][] = [
      ["GET", `${base}/members`, membersRoute.GET as unknown as Handler, { tenant }],
      ["PATCH", `${base}/members/${fixture.otherUserId}`, memberRoute.PATCH as unknown as Handler, { tenant, member: fixture.otherUserId }, { role: "owner" }],
      ["DELETE", `${base}/members/${fixture.otherUserId}`, memberRoute.DELETE as unknown as Handler, { tenant, member: fixture.otherUserId }],
      ["GET", `${base}/invitations`, invitationsRoute.GET as unknown as Handler, { tenant }],
      ["POST", `${base}/invitations`, invitationsRoute.POST as unknown as Handler, { tenant }, { email: "planted@example.com", role: "owner" }],
      ["DELETE", `${base}/invitations/${fixture.invitationId}`, invitationRoute.DELETE as unknown as Handler, { tenant, invitation: fixture.invitationId }],
      ["POST", "http://localhost:3000/api/invitations/accept", acceptRoute.POST as unknown as Handler, {}, { token: "x".repeat(43) }],
    ];
    for (const [method, url, handler, params, body] of calls) {
      const request = new NextRequest(url, {
        method,
        headers: { authorization: `Bearer ${ownerToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const response = await handler(request, { params: Promise.resolve(params) });
      const answer = (await response.json()) as { error: { code: string } };
      expect(response.status, `${method} ${url}`).toBe(403);
      expect(answer.error.code, `${method} ${url}`).toBe("token_not_allowed");
      // As the API reference says: a status the operation lists, in the one error shape.
      const path = new URL(url).pathname.replace(tenant, "{tenant}").replace(fixture.otherUserId, "{member}").replace(fixture.invitationId, "{invitation}");
      const endpoint = endpoints.find((e) => e.path === path && e.method === method.toLowerCase());
      expect(endpoint, `${method} ${path}`).toBeDefined();
      expect(Object.keys(endpoint!.errors), `${method} ${path}`).toContain("403");
      expect(validateError(answer)).toEqual([]);
    }
    expect(await snapshot(owner.tenantId)).toEqual(before);
  });
});
