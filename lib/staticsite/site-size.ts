// How much room a published site can take once unpacked, so that the site
// pod's volumes are sized by the same rules that bound an upload. The
// dashboard's upload limits take their content defaults from here and the
// operator sizes emptyDirs from them; pure constants and arithmetic.

const MiB = 1024 * 1024;

/** What bounds a site's content: the upload pipeline refuses more, the operator makes room for this much. */
export interface SiteContentLimits {
  /** Regular files in the site. */
  maxFiles: number;
  /** Sum of all files once inflated. */
  maxUncompressedBytes: number;
  /** Number of path segments ("a/b/c.html" has 3). */
  maxPathDepth: number;
}

/** The defaults of the upload limits of the same names (lib/uploads/limits.ts). */
export const DEFAULT_SITE_CONTENT_LIMITS: Readonly<SiteContentLimits> = Object.freeze({
  maxFiles: 20_000,
  maxUncompressedBytes: 500 * MiB,
  maxPathDepth: 32,
});

/** A precompressed `.gz` sibling is kept only if it is at most this fraction of its original. */
export const SIBLING_MAX_FRACTION = 0.95;
/** Every file and directory takes whole blocks on the node's disk; 4 KiB is ext4's and xfs's default. */
export const FS_BLOCK_BYTES = 4096;
/** A tar entry costs at most a pax header block, its record, the entry's own header and padding to 512. */
export const TAR_ENTRY_OVERHEAD_BYTES = 4 * 512;

/** Files, their siblings, and every directory on the way to each file. */
export function maxTreeEntries(limits: SiteContentLimits = DEFAULT_SITE_CONTENT_LIMITS): number {
  return limits.maxFiles * 2 + limits.maxFiles * (limits.maxPathDepth - 1);
}

/**
 * The unpacked site on disk: the files (at most maxUncompressedBytes), a
 * sibling of at most SIBLING_MAX_FRACTION of each, and up to one block of
 * rounding per entry.
 */
export function maxUnpackedSiteBytes(limits: SiteContentLimits = DEFAULT_SITE_CONTENT_LIMITS): number {
  const content = Math.ceil(limits.maxUncompressedBytes * (1 + SIBLING_MAX_FRACTION));
  return content + maxTreeEntries(limits) * FS_BLOCK_BYTES;
}

/**
 * The artifact (tar.gz) at its largest: the same content with a tar header
 * per entry, and gzip's worst case on incompressible data (5 bytes per
 * 16 KiB stored block plus its own 18-byte frame).
 */
export function maxArtifactBytes(limits: SiteContentLimits = DEFAULT_SITE_CONTENT_LIMITS): number {
  const tar = Math.ceil(limits.maxUncompressedBytes * (1 + SIBLING_MAX_FRACTION)) + maxTreeEntries(limits) * TAR_ENTRY_OVERHEAD_BYTES + 1024;
  return tar + Math.ceil(tar / 16_384) * 5 + 18;
}
