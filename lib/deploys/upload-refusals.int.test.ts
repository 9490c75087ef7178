import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { uploadDeploy } from "@/lib/deploys/upload";
import { errorResponse } from "@/lib/http/errors";
import { createSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { isUploadError, type UploadError } from "@/lib/uploads";
import { buildZip, craftZip, dataOffset, patchEntry } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";
import { withAuditWritesFailing } from "@/tests/support/audit";

/**
 * Refusals whose details are hostile text, through the real pipeline and
 * Postgres: the person gets the specific 422, and the refusal is recorded.
 */
let artifactRoot: string;
let actor: TenantActor;

beforeAll(async () => {
  artifactRoot = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  process.env.PAGODA_ARTIFACT_ROOT = artifactRoot;
  ({ actor } = await newAccount("refusals"));
  await createSite(actor, { name: "notes" }, null);
});

afterAll(async () => {
  await rm(artifactRoot, { recursive: true, force: true });
});

async function upload(zip: Buffer) {
  return uploadDeploy(actor, "notes", { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: "127.0.0.1" });
}

async function refusal(zip: Buffer): Promise<{ error: UploadError; status: number; body: { error: { code: string; message: string; entry?: string } } }> {
  const error = await upload(zip).then(
    () => null,
    (e: unknown) => e,
  );
  expect(isUploadError(error), String(error)).toBe(true);
  const response = errorResponse(error);
  return {
    error: error as UploadError,
    status: response.status,
    body: (await response.json()) as { error: { code: string; message: string; entry?: string } },
  };
}

async function lastFailure() {
  const row = await db().auditEvent.findFirstOrThrow({
    where: { tenantId: actor.tenantId, action: "deploy.upload", outcome: "failure" },
    orderBy: { createdAt: "desc" },
  });
  return row.details as { code?: string; message?: string; entry?: string | null };
}

const INDEX = { name: "index.html", data: "<h1>notes</h1>" };

describe("refused uploads with hostile names", () => {
  it("answers a NUL in an entry name (both headers) with the specific 422 and records the refusal", async () => {
    const deploysBefore = await db().deploy.count();
    const zip = patchEntry(await buildZip([INDEX, { name: "ok.htmlX.php", data: "<?php" }]), "ok.htmlX.php", { rename: "ok.html\u0000.php" });
    const { status, body } = await refusal(zip);
    expect(status).toBe(422);
    expect(body.error.code).toBe("bad_name");
    expect(body.error.entry).toBe("ok.html\u0000.php");
    expect(body.error.message).toContain("U+0000");
    const details = await lastFailure();
    expect(details.code).toBe("bad_name");
    expect(details.entry).toBe("ok.html\u2400.php");
    expect(details.message).toBe(body.error.message);
    expect(await db().deploy.count()).toBe(deploysBefore);
  });

  it("answers a zip whose local header renames index.html to ../evil.html with zip_header_mismatch", async () => {
    const zip = craftZip([{ name: "index.html", data: "<h1>hi</h1>", local: { name: "../evil.html" } }]);
    const { status, body } = await refusal(zip);
    expect(status).toBe(422);
    expect(body.error.code).toBe("zip_header_mismatch");
    expect(body.error.entry).toBe("index.html");
    expect(body.error.message).toContain('"../evil.html"');
    expect((await lastFailure()).code).toBe("zip_header_mismatch");
  });

  it("answers damaged deflate data in our words, never zlib's", async () => {
    const zip = await buildZip([INDEX, { name: "app.js", data: "console.log('x');\n".repeat(300) }]);
    const at = dataOffset(zip, "app.js");
    zip.fill(0xff, at, at + 4);
    let zlibText = "";
    try {
      zlib.inflateRawSync(zip.subarray(at, at + 64));
    } catch (err) {
      zlibText = (err as Error).message;
    }
    expect(zlibText).not.toBe("");
    const { status, body } = await refusal(zip);
    expect(status).toBe(422);
    expect(body.error.code).toBe("corrupt");
    expect(body.error.message).not.toContain(zlibText);
    expect((await lastFailure()).message).toBe(body.error.message);
  });

  it("still gives the real answer when the audit write itself fails", async () => {
    await withAuditWritesFailing(async () => {
      const hostile = patchEntry(await buildZip([INDEX, { name: "evil.html", data: "x" }]), "evil.html", { rename: "e\u0000il.html" });
      const { status, body } = await refusal(hostile);
      expect(status).toBe(422);
      expect(body.error.code).toBe("bad_name");
      // And a good upload is not turned into a failure by its success record.
      const deploy = await upload(await buildZip([{ name: "index.html", data: `<h1>${Date.now()}</h1>` }]));
      expect(deploy.state).toBe("ready");
    });
  });
});
