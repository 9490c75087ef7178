import { DEFAULT_SITE_CONTENT_LIMITS } from "@/lib/staticsite/site-size";

/**
 * Bounds on what one upload may contain. They exist to keep one hostile or
 * careless upload from exhausting disk, CPU or the pod's web root, and are
 * all checked against what is actually read, never only against what the
 * zip claims.
 */
export interface UploadLimits {
  /** Size of the zip itself, as received over HTTP. */
  maxArchiveBytes: number;
  /** Regular files kept after junk is dropped (directories do not count). */
  maxFiles: number;
  /** Sum of all kept files once inflated. */
  maxUncompressedBytes: number;
  /**
   * Inflated / compressed, per file and for the whole archive. Ordinary web
   * assets stay well under 20; zip bombs are in the thousands.
   */
  maxCompressionRatio: number;
  /** Length of a path inside the site, in UTF-8 bytes. */
  maxPathLength: number;
  /** Number of path segments ("a/b/c.html" has 3). */
  maxPathDepth: number;
  /** Optional cap on one file once inflated; unset means only the total applies. */
  maxFileBytes?: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_UPLOAD_LIMITS: Readonly<UploadLimits> = Object.freeze({
  maxArchiveBytes: 100 * MiB,
  // maxFiles, maxUncompressedBytes and maxPathDepth: the operator sizes site volumes from the same figures.
  ...DEFAULT_SITE_CONTENT_LIMITS,
  maxCompressionRatio: 100,
  // 255 is the common file-name limit (NAME_MAX) and keeps every path
  // representable by the usual tools and object stores.
  maxPathLength: 255,
});

/**
 * Below this many inflated bytes the ratio limit is not applied: tiny files
 * of repeated text legitimately compress far beyond any sane ratio, and a
 * bomb needs volume to hurt.
 */
export const RATIO_GRACE_BYTES = 1 * MiB;

/**
 * The zip may list more entries than files we keep (folders, __MACOSX
 * shadows of every file), but not unboundedly more: this multiple of
 * maxFiles bounds the metadata we hold in memory before filtering.
 */
export const ENTRY_COUNT_FACTOR = 4;

export function resolveLimits(overrides: Partial<UploadLimits> = {}): UploadLimits {
  const limits: UploadLimits = { ...DEFAULT_UPLOAD_LIMITS, ...overrides };
  for (const [key, value] of Object.entries(limits)) {
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`upload limit ${key} must be a positive number, got ${String(value)}`);
    }
  }
  return limits;
}

/**
 * Bounds on how uploads use the server rather than on what they contain:
 * how many run at once, how long one may take to arrive, and how much disk
 * must stay free. Enforced before a body byte is stored (admission) and
 * while it is read (receiveToTempFile).
 */
export interface UploadAdmissionLimits {
  /** Uploads of one tenant in progress at once, across every dashboard process. */
  perTenant: number;
  /** Uploads in progress at once in this process, whatever the tenant. */
  perProcess: number;
  /** Longest wait for the next byte of the body. */
  idleTimeoutMs: number;
  /** Longest time the whole body may take to arrive. */
  deadlineMs: number;
  /** Free bytes that must remain on the temp and artifact volumes after an upload's worst case. */
  diskReserveBytes: number;
}

/**
 * Node's HTTP server answers a bare 408 and drops the connection once a
 * request has taken this long to arrive (server.requestTimeout, which
 * `next start` leaves at its default). Our own deadline must fire first so
 * the person gets a message that says what happened.
 */
export const NODE_REQUEST_TIMEOUT_MS = 300_000;

export const DEFAULT_ADMISSION_LIMITS: Readonly<UploadAdmissionLimits> = Object.freeze({
  perTenant: 2,
  perProcess: 8,
  // nginx waits 60 s between two reads of a body; half of that is plenty
  // for a live connection and cuts a stalled one off sooner.
  idleTimeoutMs: 30_000,
  // 100 MiB in 4 minutes needs about 3.5 Mbit/s of upload.
  deadlineMs: 240_000,
  diskReserveBytes: 512 * MiB,
});

/**
 * Processing starts once the body is in and is bounded by the content
 * limits above, not by a clock: the largest site takes seconds to tens of
 * seconds on a busy two-core machine. An hour is far past that.
 */
export const PROCESSING_ALLOWANCE_MS = 60 * 60 * 1000;

/** No upload, however slow within its limits, keeps a temp directory longer than this. */
export function longestUploadMs(limits: Pick<UploadAdmissionLimits, "deadlineMs">): number {
  return limits.deadlineMs + PROCESSING_ALLOWANCE_MS;
}
