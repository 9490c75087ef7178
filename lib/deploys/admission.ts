import "server-only";
import { createHash } from "node:crypto";
import os from "node:os";
import { Pool, type PoolClient } from "pg";
import { getConfig } from "@/lib/config";
import { processSingleton } from "@/lib/process-singleton";
import { artifactStoreConfig } from "@/lib/artifacts/configured";
import { quotasOf } from "@/lib/tenancy/quotas";
import { type DeployView } from "@/lib/deploys/view";
import { uploadDeploy, type UploadRequest } from "@/lib/deploys/upload";
import { componentLogger } from "@/lib/log";
import { requireRole, type TenantActor } from "@/lib/tenancy/access";
import { DiskReservations, type DiskNeed, type DiskReservation } from "@/lib/uploads/disk";
import { formatBytes } from "@/lib/uploads/format";
import { insufficientStorage, isNoSpaceError, isUploadLimitError, serverBusy, tenantBusy } from "@/lib/uploads/limit-error";
import { longestUploadMs, type UploadAdmissionLimits } from "@/lib/uploads/limits";
import { sweepStaleTempDirs } from "@/lib/uploads/sweep";

const log = componentLogger("uploads.admission");

/**
 * Retry-After for a refused upload. Uploads take seconds to a few minutes;
 * a client that waits this long and tries again is neither hammering us nor
 * left waiting long after a slot frees up.
 */
export const RETRY_AFTER_SECONDS = 10;

export interface UploadPass {
  /** Timeouts for receiveToTempFile. */
  receive: { idleTimeoutMs: number; deadlineMs: number };
  release(): Promise<void>;
}

export interface AdmissionOptions {
  limits: UploadAdmissionLimits;
  databaseUrl: string;
  /** The fs artifact store's root; null for object stores, whose space is not ours to measure. */
  artifactDir: string | null;
}

/**
 * Decides whether an upload may start, before a byte of its body is read:
 * a free slot in this process, a free slot for the tenant across every
 * dashboard process, and room on the disks it will write to.
 *
 * Tenant slots are Postgres session advisory locks, one key per (tenant,
 * slot number), held on a connection of their own for the whole upload.
 * A process that dies loses its connection and with it its locks, so a
 * crash never leaves a tenant locked out.
 */
export class UploadAdmission {
  private active = 0;
  private readonly pool: Pool;
  private readonly disk = new DiskReservations();

  constructor(private readonly options: AdmissionOptions) {
    // One connection per upload in progress is the most this process can need.
    this.pool = new Pool({ connectionString: options.databaseUrl, max: options.limits.perProcess, idleTimeoutMillis: 30_000 });
    this.pool.on("error", (error) => log.warn({ err: error }, "an idle upload-slot connection failed; the pool replaces it"));
  }

  get inProgress(): number {
    return this.active;
  }

  async admit(tenantId: string, archiveBytes: number): Promise<UploadPass> {
    const { limits } = this.options;
    if (this.active >= limits.perProcess) {
      log.info({ tenantId, active: this.active, limit: limits.perProcess }, "upload refused: process busy");
      throw serverBusy(RETRY_AFTER_SECONDS);
    }
    this.active += 1;
    let slot: TenantSlot | null = null;
    let disk: DiskReservation | null = null;
    try {
      slot = await this.takeTenantSlot(tenantId);
      if (!slot) {
        log.info({ tenantId, limit: limits.perTenant }, "upload refused: tenant busy");
        throw tenantBusy(limits.perTenant, RETRY_AFTER_SECONDS);
      }
      // Upload temp dirs go to os.tmpdir(), i.e. TMPDIR, like every temp file of the pipeline.
      const tmpDir = os.tmpdir();
      // The zip and the archive built from it sit in temp dirs side by side;
      // the archive is then copied into the store. The archive is about the
      // zip's size (the same deflate); the reserve absorbs the difference.
      const needs: DiskNeed[] = [{ dir: tmpDir, bytes: 2 * archiveBytes }];
      if (this.options.artifactDir) needs.push({ dir: this.options.artifactDir, bytes: archiveBytes });
      const room = await this.disk.reserve(needs, limits.diskReserveBytes);
      if (!room.ok) {
        const { dir, freeBytes, neededBytes, reserveBytes } = room.shortfall;
        log.warn(
          { tenantId, dir, free: formatBytes(freeBytes), needed: formatBytes(neededBytes), reserve: formatBytes(reserveBytes) },
          "upload refused: disk nearly full",
        );
        throw insufficientStorage();
      }
      disk = room.reservation;
    } catch (error) {
      this.active -= 1;
      await slot?.release();
      throw error;
    }
    let released = false;
    const taken = { slot, disk };
    return {
      receive: { idleTimeoutMs: limits.idleTimeoutMs, deadlineMs: limits.deadlineMs },
      release: async () => {
        if (released) return;
        released = true;
        taken.disk.release();
        try {
          await taken.slot.release();
        } finally {
          // After the connection is back in the pool, which is sized for exactly `perProcess` of them.
          this.active -= 1;
        }
      },
    };
  }

  /** Closes the slot connections; passes still out lose their tenant slots. */
  async close(): Promise<void> {
    await this.pool.end();
  }

  private async takeTenantSlot(tenantId: string): Promise<TenantSlot | null> {
    const client = await this.pool.connect();
    // A checked-out client that loses its connection emits "error"; without
    // a listener that would take the process down.
    const onError = (error: Error) => log.warn({ err: error, tenantId }, "the connection holding an upload slot failed; the slot is free again");
    client.on("error", onError);
    try {
      for (let n = 0; n < this.options.limits.perTenant; n += 1) {
        const key = slotKey(tenantId, n);
        const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS locked", [key]);
        if (rows[0]?.locked) return new TenantSlot(client, key, onError);
      }
    } catch (error) {
      client.off("error", onError);
      client.release(error instanceof Error ? error : true);
      throw error;
    }
    client.off("error", onError);
    client.release();
    return null;
  }
}

class TenantSlot {
  constructor(
    private readonly client: PoolClient,
    private readonly key: string,
    private readonly onError: (error: Error) => void,
  ) {}

  async release(): Promise<void> {
    try {
      await this.client.query("SELECT pg_advisory_unlock($1::bigint)", [this.key]);
      this.client.off("error", this.onError);
      this.client.release();
    } catch (error) {
      // Destroying the connection ends its session, and that frees the lock.
      this.client.off("error", this.onError);
      this.client.release(error instanceof Error ? error : true);
      log.warn({ err: error }, "could not unlock an upload slot; closed its connection instead");
    }
  }
}

/** A 64-bit advisory-lock key per (tenant, slot), namespaced so it cannot meet another use of advisory locks by chance. */
export function slotKey(tenantId: string, slot: number): string {
  return createHash("sha256").update(`pagoda.upload-slot\0${tenantId}\0${slot}`).digest().readBigInt64BE(0).toString();
}

export function admissionLimitsFromConfig(): UploadAdmissionLimits {
  const config = getConfig();
  return {
    perTenant: config.PAGODA_UPLOADS_PER_TENANT,
    perProcess: config.PAGODA_UPLOADS_PER_PROCESS,
    idleTimeoutMs: config.PAGODA_UPLOAD_IDLE_SECONDS * 1000,
    deadlineMs: config.PAGODA_UPLOAD_DEADLINE_SECONDS * 1000,
    diskReserveBytes: config.PAGODA_UPLOAD_DISK_RESERVE_BYTES,
  };
}

/** The process's admission, from the configuration. */
export function uploadAdmission(): UploadAdmission {
  return processSingleton("uploadAdmission", () => {
    const store = artifactStoreConfig();
    return new UploadAdmission({
      limits: admissionLimitsFromConfig(),
      databaseUrl: getConfig().DATABASE_URL,
      artifactDir: store.driver === "fs" ? store.root : null,
    });
  });
}

/**
 * uploadDeploy within the server's limits: refused with 429 or 507 before
 * the body is read when the process, the tenant or the disk has no room,
 * and cut off with 408 when the body stalls or takes too long. A disk that
 * fills up regardless is answered with 507, never 500.
 */
export async function uploadDeployWithinLimits(
  actor: TenantActor,
  siteName: string,
  request: UploadRequest,
  admission: UploadAdmission = uploadAdmission(),
): Promise<DeployView> {
  // Before admission, so someone who may not deploy never holds an upload slot.
  requireRole(actor, "member");
  const { maxArchiveBytes } = await quotasOf(actor.tenantId);
  const declared = request.declaredLength !== null && Number.isFinite(request.declaredLength) ? request.declaredLength : null;
  // A declared size over the limit is refused (413) once reading starts; it never needs more room than the limit.
  const pass = await admission.admit(actor.tenantId, Math.min(declared ?? maxArchiveBytes, maxArchiveBytes));
  try {
    return await uploadDeploy(actor, siteName, { ...request, receive: pass.receive });
  } catch (error) {
    if (isUploadLimitError(error)) log.info({ tenantId: actor.tenantId, site: siteName, code: error.code }, "upload cut off");
    if (isNoSpaceError(error)) {
      log.error({ err: error, tenantId: actor.tenantId, site: siteName }, "upload refused: the disk filled up while it ran");
      throw insufficientStorage(error);
    }
    throw error;
  } finally {
    await pass.release();
  }
}

/**
 * At start: removes upload temp dirs that a dead process left behind. Other
 * processes sharing the temp dir keep theirs: only dirs untouched for
 * longer than any upload can last are taken.
 */
export async function sweepUploadTempDirs(): Promise<void> {
  const parent = os.tmpdir();
  const olderThanMs = longestUploadMs(admissionLimitsFromConfig());
  try {
    const { removed, kept } = await sweepStaleTempDirs({ parent, olderThanMs });
    if (removed.length > 0) log.info({ parent, removed, kept }, "removed upload temp dirs left by an earlier process");
  } catch (error) {
    // Leftovers cost disk, not correctness: the dashboard still starts, and says so.
    log.error({ err: error, parent }, "could not sweep upload temp dirs");
  }
}
