import "server-only";
import { db } from "@/lib/db";
import { actorAudit, recordAudit } from "@/lib/audit";
import type { Digest } from "@/lib/artifacts";
import { artifactStore } from "@/lib/artifacts/configured";
import { quotasOf, storedBytesOf } from "@/lib/tenancy/quotas";
import { type DeployView, deployWithCreator, previewContextOf, toDeployView } from "@/lib/deploys/view";
import { componentLogger } from "@/lib/log";
import { getSiteRow } from "@/lib/sites/sites";
import { recordHtmlFiles } from "@/lib/sites/settings";
import { deploySourceOf, requireRole, type TenantActor } from "@/lib/tenancy/access";
import { UploadError, isUploadError, processUpload, receiveToTempFile, resolveLimits, type ReceiveOptions } from "@/lib/uploads";
import { formatBytes } from "@/lib/uploads/format";
import { publishPromotedDeploy } from "@/lib/publishing/publish";
import { ArtifactUpload, describeGrace, holdArtifact } from "@/lib/artifacts/references";
import { collectRefusedUpload } from "@/lib/artifacts/gc";
import { getConfig } from "@/lib/config";

const log = componentLogger("deploys");

export interface UploadRequest {
  body: ReadableStream<Uint8Array>;
  declaredLength: number | null;
  ip: string | null;
  /** The deploy's message, already checked by deployMessageSchema (lib/validation.ts). */
  message?: string | null;
  /** false: store the deploy and leave the site pointed where it was (the deploy answers at its preview address). Default true. */
  promote?: boolean;
  /** How long the body may stall and take in all (lib/deploys/admission.ts); receiveToTempFile's defaults otherwise. */
  receive?: Pick<ReceiveOptions, "idleTimeoutMs" | "deadlineMs">;
}

/**
 * A zip becomes a deploy: streamed to disk, validated and normalized into a
 * content-addressed artifact, recorded, and (unless `promote` is false)
 * promoted as the site's target.
 * Any refusal leaves no deploy row and no artifact that nothing refers to.
 */
export async function uploadDeploy(actor: TenantActor, siteName: string, request: UploadRequest): Promise<DeployView> {
  requireRole(actor, "member");
  const site = await getSiteRow(actor, siteName);
  const quotas = await quotasOf(actor.tenantId);
  const limits = resolveLimits({ maxArchiveBytes: quotas.maxArchiveBytes, maxFiles: quotas.maxFiles });
  const audit = (outcome: "success" | "failure", details: Record<string, string | number | boolean | null>) =>
    recordAudit({ action: "deploy.upload", outcome, tenantId: actor.tenantId, target: site.name, ip: request.ip, ...actorAudit(actor, details) });

  const received = await receiveToTempFile(request.body, {
    ...request.receive,
    maxBytes: limits.maxArchiveBytes,
    declaredLength: request.declaredLength,
  }).catch(async (error: unknown) => {
    if (isUploadError(error)) await audit("failure", { code: error.code, message: error.message });
    throw error;
  });
  // Pins the digest from before its blob is written until its deploy is recorded, so the collector leaves it alone.
  const pin = new ArtifactUpload(artifactStore());
  try {
    const result = await processUpload(received.path, limits, pin.store, { proxyOrigins: getConfig().PAGODA_PROXY_ORIGINS });
    try {
      const deploy = await db().$transaction(
        async (tx) => {
          // Taking turns per tenant keeps two uploads from both fitting under the storage quota.
          await tx.$queryRaw`SELECT id FROM "Tenant" WHERE id = ${actor.tenantId} FOR UPDATE`;
          const stored = await storedBytesOf(actor.tenantId, result.digest, tx);
          if (stored + result.sizeBytes > quotas.maxStoredBytes) {
            throw new UploadError(
              "too_large",
              `This deploy needs ${formatBytes(result.sizeBytes)} but the workspace has ${formatBytes(Math.max(0, quotas.maxStoredBytes - stored))} of its ${formatBytes(quotas.maxStoredBytes)} storage left. Delete old sites first: their space comes back about ${describeGrace(getConfig().PAGODA_ARTIFACT_GC_GRACE_SECONDS)} after they are deleted.`,
            );
          }
          await holdArtifact(tx, artifactStore(), actor.tenantId, result.digest, result.sizeBytes);
          const now = new Date();
          const promote = request.promote !== false;
          const created = await tx.deploy.create({
            data: {
              siteId: site.id,
              digest: result.digest,
              sizeBytes: BigInt(result.sizeBytes),
              fileCount: result.fileCount,
              uncompressedBytes: BigInt(result.uncompressedBytes),
              state: "ready",
              createdById: actor.userId,
              message: request.message ?? null,
              source: deploySourceOf(actor),
              tokenId: actor.token?.id ?? null,
              tokenName: actor.token?.name ?? null,
              redirectsText: result.rules.redirects,
              headersText: result.rules.headers,
              finishedAt: now,
              promotedAt: promote ? now : null,
            },
            include: deployWithCreator,
          });
          await recordHtmlFiles(tx, created.id, result.paths);
          if (promote) await tx.site.update({ where: { id: site.id }, data: { targetDeployId: created.id } });
          return created;
        },
        { maxWait: 15_000, timeout: 15_000 },
      );
      await pin.release();
      await audit("success", {
        deployId: deploy.id,
        digest: result.digest,
        files: result.fileCount,
        bytes: result.sizeBytes,
        message: deploy.message,
        promoted: request.promote !== false,
      });
      // Promoted or not, the StaticSite changes: the new deploy is one of its previews.
      await publishPromotedDeploy(site.id);
      return toDeployView(deploy, request.promote !== false ? deploy.id : site.targetDeployId, await previewContextOf(site));
    } catch (error) {
      await pin.release();
      if (!result.alreadyStored) await forgetUnreferenced(result.digest);
      throw error;
    }
  } catch (error) {
    if (isUploadError(error)) await audit("failure", { code: error.code, message: error.message, entry: error.entry ?? null });
    throw error;
  } finally {
    await pin.release();
    await received.cleanup();
  }
}

/** Removes a just-stored artifact that nothing has come to need (the upload was refused after storing); else the collector takes it later. */
async function forgetUnreferenced(digest: Digest): Promise<void> {
  await collectRefusedUpload(artifactStore(), digest).catch((error: unknown) =>
    log.error({ err: error, digest }, "could not remove an unreferenced artifact; the collector will"),
  );
}
