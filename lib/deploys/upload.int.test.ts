import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { signedArtifactUrl } from "@/lib/artifacts/configured";
import { uploadDeploy } from "@/lib/deploys/upload";
import { createSite } from "@/lib/sites/sites";
import { isUploadError } from "@/lib/uploads";
import { buildZip, patchEntry } from "@/lib/uploads/test-support";
import type { TenantActor } from "@/lib/tenancy/access";
import { newAccount } from "@/tests/support/accounts";
import { GET as getArtifact, HEAD as headArtifact } from "@/app/api/artifacts/[digest]/route";

let artifactRoot: string;
let actor: TenantActor;

beforeAll(async () => {
  artifactRoot = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  process.env.PAGODA_ARTIFACT_ROOT = artifactRoot;
  ({ actor } = await newAccount("uploader"));
  await createSite(actor, { name: "handbook" }, null);
});

afterAll(async () => {
  await rm(artifactRoot, { recursive: true, force: true });
});

function body(buffer: Buffer): ReadableStream<Uint8Array> {
  return new Blob([new Uint8Array(buffer)]).stream();
}

async function upload(zip: Buffer, site = "handbook", who = actor) {
  return uploadDeploy(who, site, { body: body(zip), declaredLength: zip.length, ip: "127.0.0.1" });
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
  return out;
}

const site = (html: string) =>
  buildZip([
    { name: "index.html", data: `<h1>${html}</h1>` },
    { name: "app.css", data: "body{color:red}" },
  ]);

describe("uploads become deploys", () => {
  it("records a ready deploy, points the site at it, and stores the artifact once", async () => {
    const zip = await site("first");
    const deploy = await upload(zip);
    expect(deploy.state).toBe("ready");
    expect(deploy.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(deploy.fileCount).toBe(2);
    expect(deploy.isTarget).toBe(true);
    const again = await upload(
      await buildZip([
        { name: "app.css", data: "body{color:red}" },
        { name: "index.html", data: "<h1>first</h1>", compress: false },
      ]),
    );
    expect(again.digest).toBe(deploy.digest);
    expect((await storedFiles()).filter((f) => f.includes(deploy.digest!.slice(7)))).toHaveLength(1);
    const siteRow = await db().site.findFirstOrThrow({ where: { tenantId: actor.tenantId, name: "handbook" } });
    expect(siteRow.targetDeployId).toBe(again.id);
    const audit = await db().auditEvent.findMany({ where: { tenantId: actor.tenantId, action: "deploy.upload", outcome: "success" } });
    expect(audit.length).toBeGreaterThanOrEqual(2);
  });

  const hostile: [string, () => Promise<Buffer>, string, number][] = [
    ["not a zip", async () => Buffer.from("<html>definitely not a zip</html>"), "not_a_zip", 415],
    [
      "path traversal",
      async () =>
        patchEntry(
          await buildZip([
            { name: "index.html", data: "x" },
            { name: "a/xx/xx/etc/passwd", data: "x" },
          ]),
          "a/xx/xx/etc/passwd",
          { rename: "a/../../etc/passwd" },
        ),
      "path_traversal",
      422,
    ],
    [
      "symlink",
      async () =>
        buildZip([
          { name: "index.html", data: "x" },
          { name: "link", data: "/etc/passwd", mode: 0o120777 },
        ]),
      "symlink",
      422,
    ],
    ["no index.html", async () => buildZip([{ name: "about.html", data: "x" }]), "no_index_html", 422],
    [
      "zip bomb",
      async () =>
        buildZip([
          { name: "index.html", data: "x" },
          { name: "bomb.txt", data: Buffer.alloc(60 * 1024 * 1024) },
        ]),
      "ratio_too_high",
      422,
    ],
    [
      "encrypted entry",
      async () => patchEntry(await buildZip([{ name: "index.html", data: "secret" }]), "index.html", { flags: (f) => f | 1 }),
      "encrypted",
      422,
    ],
  ];

  it.each(hostile)("refuses %s with a specific error and leaves nothing behind", async (_label, make, code, status) => {
    const before = { deploys: await db().deploy.count(), files: (await storedFiles()).length };
    const error = await upload(await make()).catch((e: unknown) => e);
    expect(isUploadError(error), String(error)).toBe(true);
    if (!isUploadError(error)) return;
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.message.length).toBeGreaterThan(20);
    expect(await db().deploy.count()).toBe(before.deploys);
    expect((await storedFiles()).length).toBe(before.files);
    const audit = await db().auditEvent.findFirst({
      where: { tenantId: actor.tenantId, action: "deploy.upload", outcome: "failure" },
      orderBy: { createdAt: "desc" },
    });
    expect((audit?.details as { code?: string } | null)?.code).toBe(code);
    // And the next good upload still works.
    await upload(await site(`after ${code}`));
  });

  it("takes ten simultaneous uploads to one site without losing or mixing any", async () => {
    const zips = await Promise.all(Array.from({ length: 10 }, (_, i) => site(`concurrent ${i} ${randomBytes(4).toString("hex")}`)));
    const deploys = await Promise.all(zips.map((zip) => upload(zip)));
    expect(new Set(deploys.map((d) => d.id)).size).toBe(10);
    expect(new Set(deploys.map((d) => d.digest)).size).toBe(10);
    for (const deploy of deploys) {
      const row = await db().deploy.findUniqueOrThrow({ where: { id: deploy.id } });
      expect(row.digest).toBe(deploy.digest);
      expect(row.state).toBe("ready");
    }
    const target = (await db().site.findFirstOrThrow({ where: { tenantId: actor.tenantId, name: "handbook" } })).targetDeployId;
    expect(deploys.map((d) => d.id)).toContain(target);
  });
});

describe("per-tenant quotas", () => {
  it("refuses an archive over the tenant's size limit, naming the limit", async () => {
    const { actor: small } = await newAccount("small");
    await createSite(small, { name: "tiny" }, null);
    await db().tenant.update({ where: { id: small.tenantId }, data: { maxArchiveBytes: 1024n } });
    const zip = await buildZip([{ name: "index.html", data: randomBytes(4096) }]);
    const error = await upload(zip, "tiny", small).catch((e: unknown) => e);
    expect(isUploadError(error) && error.status).toBe(413);
    expect((error as Error).message).toContain("1 KiB");
    expect(await db().deploy.count({ where: { site: { tenantId: small.tenantId } } })).toBe(0);
  });

  it("refuses more files than the tenant may have", async () => {
    const { actor: small } = await newAccount("few");
    await createSite(small, { name: "few" }, null);
    await db().tenant.update({ where: { id: small.tenantId }, data: { maxFiles: 2 } });
    const zip = await buildZip([
      { name: "index.html", data: "a" },
      { name: "b.html", data: "b" },
      { name: "c.html", data: "c" },
    ]);
    const error = await upload(zip, "few", small).catch((e: unknown) => e);
    expect(isUploadError(error) && error.code).toBe("too_many_files");
  });

  it("refuses a deploy that would pass the storage quota and removes its artifact", async () => {
    const { actor: small } = await newAccount("storage");
    await createSite(small, { name: "full" }, null);
    const firstContent = randomBytes(3000);
    const first = await upload(await buildZip([{ name: "index.html", data: firstContent }]), "full", small);
    await db().tenant.update({ where: { id: small.tenantId }, data: { maxStoredBytes: BigInt(first.sizeBytes! + 100) } });
    // Uploading the stored content again costs nothing: it is stored once.
    await upload(await buildZip([{ name: "index.html", data: firstContent }]), "full", small);
    const before = (await storedFiles()).length;
    const error = await upload(await buildZip([{ name: "index.html", data: randomBytes(3000) }]), "full", small).catch((e: unknown) => e);
    expect(isUploadError(error) && error.status).toBe(413);
    expect((error as Error).message).toMatch(/storage left/);
    expect((await storedFiles()).length).toBe(before);
  });
});

describe("artifact endpoint", () => {
  it("serves a signed digest with length and ETag, and 404s anything else identically", async () => {
    const deploy = await upload(await site("served"));
    const url = signedArtifactUrl(deploy.digest as `sha256:${string}`);
    const hex = deploy.digest!.slice(7);
    const call = (handler: typeof getArtifact, target: string, headers: Record<string, string> = {}) =>
      handler(new NextRequest(target, { headers }), { params: Promise.resolve({ digest: new URL(target).pathname.split("/").at(-1)! }) });

    const ok = await call(getArtifact, url);
    expect(ok.status).toBe(200);
    const bytes = Buffer.from(await ok.arrayBuffer());
    expect(Number(ok.headers.get("content-length"))).toBe(bytes.length);
    expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(deploy.digest);
    expect(ok.headers.get("etag")).toBe(`"${deploy.digest}"`);

    const head = await call(headArtifact, url);
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(bytes.length);
    expect((await call(getArtifact, url, { "if-none-match": `"${deploy.digest}"` })).status).toBe(304);

    const unsigned = url.split("?")[0]!;
    const tampered = url.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    const unknown = url.replace(hex, "0".repeat(64));
    const answers = await Promise.all(
      [unsigned, tampered, unknown].map(async (target) => {
        const response = await call(getArtifact, target);
        return `${response.status} ${await response.text()}`;
      }),
    );
    expect(new Set(answers)).toEqual(new Set(['404 {"error":{"code":"not_found","message":"Not found."}}']));
  });
});
