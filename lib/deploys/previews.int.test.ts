import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiToken } from "@/lib/auth/api-tokens";
import * as deploysRoute from "@/app/api/tenants/[tenant]/sites/[site]/deploys/route";
import { db } from "@/lib/db";
import { listDeploys } from "@/lib/deploys/list";
import { promoteDeploy } from "@/lib/deploys/promote";
import { uploadDeploy } from "@/lib/deploys/upload";
import { dashboardKubeConfig } from "@/lib/publishing";
import { readStaticSite } from "@/lib/publishing/int-test-support";
import { createSite } from "@/lib/sites/sites";
import { PREVIEWS_MAX } from "@/lib/staticsite/types";
import type { TenantActor } from "@/lib/tenancy/access";
import { buildZip } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";
import { sharedCluster } from "@/tests/support/cluster";

/**
 * Deploys that are not promoted, and the preview addresses every recent
 * deploy gets, on a real Postgres and API server: what the StaticSite
 * carries (the pool serves from it) and what the history shows.
 */
let artifactRoot: string;
let actor: TenantActor;

beforeAll(async () => {
  process.env.KUBECONFIG = sharedCluster().kubeconfigPath;
  artifactRoot = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  process.env.PAGODA_ARTIFACT_ROOT = artifactRoot;
  ({ actor } = await newAccount("previews"));
});

afterAll(async () => {
  await rm(artifactRoot, { recursive: true, force: true });
});

async function upload(site: string, marker: string, promote?: boolean) {
  const zip = await buildZip([{ name: "index.html", data: `<h1>${marker}</h1>` }]);
  return uploadDeploy(actor, site, { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: null, promote });
}

const spec = async (site: string) => (await readStaticSite(dashboardKubeConfig(), actor.tenantSlug, site))!.spec;
const hex12 = (digest: string | null) => digest!.slice("sha256:".length, "sha256:".length + 12);
const hostOf = (url: string | null) => new URL(url!).host;

describe("deploys that are not promoted, and previews", () => {
  it("stores a deploy without moving the site, and names its preview address", async () => {
    await createSite(actor, { name: "shop" }, null);
    const first = await upload("shop", "one");
    expect(first).toMatchObject({ isTarget: true, state: "ready" });
    expect(hostOf(first.previewUrl)).toBe(`${hex12(first.digest)}--shop-${actor.tenantSlug}.pagoda.localhost`);

    const second = await upload("shop", "two", false);
    expect(second).toMatchObject({ isTarget: false, state: "ready", promotedAt: null });
    expect(hostOf(second.previewUrl)).toBe(`${hex12(second.digest)}--shop-${actor.tenantSlug}.pagoda.localhost`);
    const row = await db().site.findUniqueOrThrow({ where: { tenantId_name: { tenantId: actor.tenantId, name: "shop" } } });
    expect(row.targetDeployId).toBe(first.id);

    // The live artifact is the promoted one; both are previews, newest first, each with its own signed URL.
    const published = await spec("shop");
    expect(published.artifact.digest).toBe(first.digest);
    expect(published.previews?.map((p) => p.digest)).toEqual([second.digest, first.digest]);
    expect(new Set(published.previews?.map((p) => p.url)).size).toBe(2);

    const history = await listDeploys(actor, "shop");
    expect(history.map((d) => [d.id, d.isTarget, d.previewUrl])).toEqual([
      [second.id, false, second.previewUrl],
      [first.id, true, first.previewUrl],
    ]);

    // Promoting it later is an ordinary promotion; its preview stays where it was.
    const promoted = await promoteDeploy(actor, "shop", second.id, null);
    expect(promoted).toMatchObject({ isTarget: true, previewUrl: second.previewUrl });
    expect((await spec("shop")).artifact.digest).toBe(second.digest);
  });

  it("keeps previews for the newest stored deploys only, one per digest", async () => {
    await createSite(actor, { name: "busy" }, null);
    const oldest = await upload("busy", "v0");
    const again = await upload("busy", "v0", false);
    expect(again.digest).toBe(oldest.digest);
    for (let i = 1; i <= PREVIEWS_MAX; i += 1) await upload("busy", `v${i}`, false);
    const previews = (await spec("busy")).previews ?? [];
    expect(previews).toHaveLength(PREVIEWS_MAX);
    expect(previews.map((p) => p.digest)).not.toContain(oldest.digest);
    const history = await listDeploys(actor, "busy");
    expect(history.filter((d) => d.previewUrl !== null)).toHaveLength(PREVIEWS_MAX);
    expect(history.find((d) => d.id === oldest.id)?.previewUrl).toBeNull();
    // The site still serves its one promoted deploy.
    expect((await spec("busy")).artifact.digest).toBe(oldest.digest);
  });
});

describe("POST …/deploys?promote=", () => {
  type Handler = (request: NextRequest, context: { params: Promise<Record<string, string>> }) => Promise<Response>;
  const POST = deploysRoute.POST as unknown as Handler;

  async function post(site: string, token: string, query: string) {
    const zip = await buildZip([{ name: "index.html", data: "<h1>routed</h1>" }]);
    const request = new NextRequest(new URL(`/api/tenants/${actor.tenantSlug}/sites/${site}/deploys${query}`, "http://localhost:3000"), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/zip", "content-length": String(zip.length) },
      body: new Uint8Array(zip),
    });
    const response = await POST(request, { params: Promise.resolve({ tenant: actor.tenantSlug, site }) });
    return {
      status: response.status,
      json: (await response.json()) as { deploy?: { isTarget: boolean; previewUrl: string | null }; error?: { message: string } },
    };
  }

  it("takes false to leave the site where it was, and refuses any value but true and false before reading the zip", async () => {
    await createSite(actor, { name: "routed" }, null);
    const { token } = await createApiToken(actor, { name: "ci", scopes: ["deploy"] }, null);
    expect((await post("routed", token, "")).json.deploy?.isTarget).toBe(true);
    const unpromoted = await post("routed", token, "?promote=false&message=review");
    expect(unpromoted.status).toBe(201);
    expect(unpromoted.json.deploy).toMatchObject({ isTarget: false });
    expect(unpromoted.json.deploy?.previewUrl).toMatch(/^https?:\/\/[0-9a-f]{12}--routed-/);
    const before = await db().deploy.count({ where: { site: { tenantId: actor.tenantId, name: "routed" } } });
    const refused = await post("routed", token, "?promote=maybe");
    expect(refused).toMatchObject({ status: 400, json: { error: { message: "promote is true or false." } } });
    expect(await db().deploy.count({ where: { site: { tenantId: actor.tenantId, name: "routed" } } })).toBe(before);
  });
});
