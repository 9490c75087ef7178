import { beforeAll, describe, expect, it } from "vitest";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { db } from "@/lib/db";
import { listDeploys } from "@/lib/deploys/list";
import { uploadDeploy } from "@/lib/deploys/upload";
import { createSite } from "@/lib/sites/sites";
import type { TenantActor } from "@/lib/tenancy/access";
import { buildZip } from "@/lib/uploads/test-support";
import { newAccount } from "@/tests/support/accounts";

let actor: TenantActor;

beforeAll(async () => {
  process.env.PAGODA_ARTIFACT_ROOT = await mkdtemp(path.join(os.tmpdir(), "pagoda-artifacts-"));
  ({ actor } = await newAccount("historian"));
  await createSite(actor, { name: "notes" }, null);
});

async function upload(html: string, message: string | null, who: TenantActor = actor) {
  const zip = await buildZip([{ name: "index.html", data: html }]);
  return uploadDeploy(who, "notes", { body: new Blob([new Uint8Array(zip)]).stream(), declaredLength: zip.length, ip: "127.0.0.1", message });
}

describe("deploy history", () => {
  it("records the message, the source and the person, and lists them newest first with ISO times", async () => {
    const first = await upload("<h1>one</h1>", "First cut");
    expect(first).toMatchObject({ message: "First cut", source: "browser", createdBy: { kind: "user", name: "historian" } });
    await upload("<h1>two</h1>", null);
    const [newest, older] = await listDeploys(actor, "notes");
    expect(newest).toMatchObject({ message: null, source: "browser", createdBy: { kind: "user", name: "historian" }, isTarget: true });
    expect(older).toMatchObject({ id: first.id, message: "First cut", isTarget: false });
    for (const field of ["createdAt", "finishedAt", "promotedAt"] as const) {
      expect(new Date(newest![field]!).toISOString()).toBe(newest![field]);
    }
    expect(newest!.liveAt).toBeNull();
  });

  it("says who deployed by the token's name, which outlives the token", async () => {
    const token = await db().apiToken.create({
      data: { tenantId: actor.tenantId, publicId: "histtoken0000001", secretHash: "0".repeat(64), name: "ci-main", scopes: ["deploy"] },
    });
    const viaToken: TenantActor = {
      ...actor,
      userId: null,
      role: "member",
      token: { id: token.id, publicId: token.publicId, name: "ci-main", scopes: ["deploy"], client: "cli" },
    };
    const deploy = await upload("<h1>three</h1>", "From CI", viaToken);
    expect(deploy).toMatchObject({ source: "cli", createdBy: { kind: "token", name: "ci-main" }, message: "From CI" });
    await db().apiToken.delete({ where: { id: token.id } });
    const [listed] = await listDeploys(actor, "notes");
    expect(listed).toMatchObject({ id: deploy.id, source: "cli", createdBy: { kind: "token", name: "ci-main" } });
    const audit = await db().auditEvent.findFirstOrThrow({
      where: { tenantId: actor.tenantId, action: "deploy.upload", outcome: "success" },
      orderBy: { createdAt: "desc" },
    });
    expect(audit.actorId).toBeNull();
    expect(audit.details).toMatchObject({ deployId: deploy.id, tokenId: token.id, tokenName: "ci-main", message: "From CI" });
  });
});
