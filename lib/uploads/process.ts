import { stat } from "node:fs/promises";
import path from "node:path";
import type { Digest } from "@/lib/artifacts/digest";
import type { ArtifactStore } from "@/lib/artifacts/store";
import { componentLogger } from "@/lib/log";
import { UploadError, isUploadError } from "./errors";
import { formatBytes } from "./format";
import { inspectZip } from "./inspect";
import type { UploadLimits } from "./limits";
import { writeNormalizedArchive } from "./normalize";
import { checkSiteRules, type SiteRulesText } from "./site-rules";
import { makeTempDir } from "./temp";
import { openZip } from "./zip-archive";

const log = componentLogger("uploads");

export interface ProcessOptions {
  /** Parent for the private scratch directory; the OS temp dir by default. */
  tmpDir?: string;
  /** Origins `_redirects` may proxy to (PAGODA_PROXY_ORIGINS); none by default. */
  proxyOrigins?: readonly string[];
}

export interface ProcessResult {
  digest: Digest;
  /** Size of the stored tar.gz. */
  sizeBytes: number;
  /** Files published from the zip (precompressed siblings not counted). */
  fileCount: number;
  precompressedCount: number;
  uncompressedBytes: number;
  /** The folder that wrapped everything in the zip and was removed, e.g. "dist". */
  strippedPrefix: string | null;
  junkDropped: number;
  /** The same content was uploaded before; nothing new was written. */
  alreadyStored: boolean;
  /** Every published file as a site path (`/docs/index.html`), in zip order (only their count is logged). */
  paths: string[];
  /** The checked `_redirects` and `_headers` at the site root; both files also stay in the artifact. */
  rules: SiteRulesText;
}

/**
 * zip on disk → validated → normalized tar.gz → artifact store.
 * Throws UploadError for anything the person must fix; any other error is
 * ours. Either way the scratch directory is gone and nothing was stored.
 * The zip itself belongs to the caller (see receiveToTempFile).
 */
export async function processUpload(zipPath: string, limits: UploadLimits, store: ArtifactStore, opts: ProcessOptions = {}): Promise<ProcessResult> {
  const started = performance.now();
  const { size: archiveBytes } = await stat(zipPath);
  if (archiveBytes > limits.maxArchiveBytes) {
    throw new UploadError("too_large", `The zip is ${formatBytes(archiveBytes)}, over the ${formatBytes(limits.maxArchiveBytes)} limit.`);
  }
  const scratch = await makeTempDir("pagoda-normalize", opts.tmpDir);
  try {
    const opened = await openZip(zipPath);
    let built;
    try {
      const plan = await inspectZip(opened.zip, limits, archiveBytes);
      const rules = await checkSiteRules(opened.zip, opened.reader, plan, opts.proxyOrigins);
      built = {
        plan,
        rules,
        archive: await writeNormalizedArchive(opened.zip, opened.reader, plan, limits, path.join(scratch.path, "artifact.tar.gz"), scratch.path),
      };
    } finally {
      await opened.close();
    }
    const { plan, archive, rules } = built;
    const { alreadyStored } = await store.putFile(archive.digest, path.join(scratch.path, "artifact.tar.gz"));
    const result: ProcessResult = {
      digest: archive.digest,
      sizeBytes: archive.sizeBytes,
      fileCount: archive.fileCount,
      precompressedCount: archive.precompressedCount,
      uncompressedBytes: archive.uncompressedBytes,
      strippedPrefix: plan.strippedPrefix,
      junkDropped: plan.junkDropped,
      alreadyStored,
      paths: plan.files.map((file) => `/${file.path}`),
      rules,
    };
    const ruleFiles = { redirects: rules.redirects !== null, headers: rules.headers !== null };
    log.info({ ...result, paths: result.paths.length, rules: ruleFiles, archiveBytes, ms: Math.round(performance.now() - started) }, "upload processed");
    return result;
  } catch (err) {
    if (isUploadError(err)) {
      // The library's own words stay here, next to the refusal they explain.
      log.info({ code: err.code, entry: err.entry, archiveBytes, ...causeOf(err) }, "upload refused");
    } else {
      log.error({ err, archiveBytes, store: store.description }, "upload processing failed");
    }
    throw err;
  } finally {
    await scratch.cleanup();
  }
}

function causeOf(err: UploadError): { cause?: { message: string; code?: unknown } } {
  const cause = err.cause;
  if (cause === undefined) return {};
  if (cause instanceof Error) return { cause: { message: cause.message, ...("code" in cause ? { code: cause.code } : {}) } };
  return { cause: { message: String(cause) } };
}
