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
  maxFiles: 20_000,
  maxUncompressedBytes: 500 * MiB,
  maxCompressionRatio: 100,
  // 255 is the common file-name limit (NAME_MAX) and keeps every path
  // representable by the usual tools and object stores.
  maxPathLength: 255,
  maxPathDepth: 32,
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
