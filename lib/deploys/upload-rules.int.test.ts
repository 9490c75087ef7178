import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { promoteDeploy } from "@/lib/deploys/promote";
import { uploadDeploy } from "@/lib/deploys/upload";
import { errorResponse } from "@/lib/http/errors";
import { desiredSiteOf } from "@/lib/publishing/site-inputs";
import { desiredStaticSite } from "@/lib/publishing/static-sites";
import { createSite, getSiteRow } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { buildZip } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";

/**
 * The rules of a deploy through the real pipeline and Postgres: refused
 * with 422 and nothing kept when a line is bad, stored on the deploy row
 * when good, and carried by the StaticSite of whichever deploy is promoted.
 */
let artifactRoot: string;
let actor: TenantActor;

beforeAll(async () => {
  artifactRoot = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  process.env.PAGODA_ARTIFACT_ROOT = artifactRoot;
  ({ actor } = await newAccount("rules"));
  await createSite(actor, { name: "shop" }, null);
});

afterAll(async () => {
  await rm(artifactRoot, { recursive: true, force: true });
});

async function upload(zip: Buffer) {
  return uploadDeploy(actor, "shop", { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: "127.0.0.1" });
}

async function storedFiles(): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(path.relative(artifactRoot, full));
    }
  }
  await walk(artifactRoot);
  return out.sort();
}

const REDIRECTS = "/old /new 301\n/app/* /index.html 200\n";
const HEADERS = "/*\n  X-Shop: yes\n";

describe("site rules at upload", () => {
  it("refuses a bad line with 422, the file and the line, and keeps no deploy, no artifact and the live target", async () => {
    const first = await upload(await buildZip([{ name: "index.html", data: "<h1>plain</h1>" }]));
    const siteId = (await getSiteRow(actor, "shop")).id;
    const before = { deploys: await db().deploy.count({ where: { siteId } }), files: await storedFiles() };

    const zip = await buildZip([
      { name: "index.html", data: "<h1>bad rules</h1>" },
      { name: "_redirects", data: "/a /b 301\n/old /new 999\n" },
    ]);
    const error = await upload(zip).then(
      () => null,
      (e: unknown) => e,
    );
    const response = errorResponse(error);
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      error: {
        code: "invalid_rules",
        message: "_redirects line 2: status 999 is not a redirect status; give one of 200, 301, 302, 303, 307, 308, 404",
        entry: "_redirects",
      },
    });
    expect(await db().deploy.count({ where: { siteId } })).toBe(before.deploys);
    expect(await db().deploy.count({ where: { siteId, state: "processing" } })).toBe(0);
    expect(await storedFiles()).toEqual(before.files);
    expect((await db().site.findUniqueOrThrow({ where: { id: siteId } })).targetDeployId).toBe(first.id);
  });

  it("stores the rules on the deploy, and the StaticSite of the promoted deploy carries them; rolling back takes them away", async () => {
    const plain = await upload(await buildZip([{ name: "index.html", data: "<h1>no rules</h1>" }]));
    const ruled = await upload(
      await buildZip([
        { name: "index.html", data: "<h1>rules</h1>" },
        { name: "_redirects", data: REDIRECTS },
        { name: "_headers", data: HEADERS },
      ]),
    );
    const row = await db().deploy.findUniqueOrThrow({ where: { id: ruled.id } });
    expect({ redirects: row.redirectsText, headers: row.headersText }).toEqual({ redirects: REDIRECTS, headers: HEADERS });
    const siteId = (await getSiteRow(actor, "shop")).id;

    const desired = await desiredSiteOf(siteId);
    expect(desired?.rules).toEqual({ redirects: REDIRECTS, headers: HEADERS });
    expect(desiredStaticSite(desired!).spec.rules).toEqual({ redirects: REDIRECTS, headers: HEADERS });

    await promoteDeploy(actor, "shop", plain.id, null);
    const rolledBack = await desiredSiteOf(siteId);
    expect(rolledBack?.rules).toEqual({ redirects: null, headers: null });
    expect(desiredStaticSite(rolledBack!).spec).not.toHaveProperty("rules");

    await promoteDeploy(actor, "shop", ruled.id, null);
    expect(desiredStaticSite((await desiredSiteOf(siteId))!).spec.rules).toEqual({ redirects: REDIRECTS, headers: HEADERS });
  });
});
