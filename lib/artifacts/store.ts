import "server-only";
import type { Readable } from "node:stream";
import type { Digest } from "./digest";

/**
 * Content-addressed, write-once storage for deploy artifacts. A digest
 * names exactly one byte sequence forever, so there is no update and no
 * overwrite: storing what is already there is a no-op that says so.
 */
export interface ArtifactStore {
  /** Short name for logs and errors ("fs:/var/lib/pagoda/artifacts", "s3://bucket/prefix"). */
  readonly description: string;
  has(digest: Digest): Promise<boolean>;
  stat(digest: Digest): Promise<{ size: number } | null>;
  /**
   * Stores the file at tempFilePath under digest. The store verifies the
   * bytes against the digest (fs) or has the server do so (s3), and never
   * exposes a partial object. The caller keeps ownership of tempFilePath.
   */
  putFile(digest: Digest, tempFilePath: string): Promise<{ alreadyStored: boolean }>;
  open(digest: Digest): Promise<{ size: number; stream: Readable } | null>;
  /** Removing what is not there is not an error: deletes race with each other and with GC. */
  delete(digest: Digest): Promise<void>;
  /** Every artifact stored, in no particular order; names that are not artifacts are skipped. */
  list(): AsyncIterable<{ digest: Digest; size: number }>;
}

/** Thrown when bytes handed to a store do not hash to the digest they were stored under. */
export class DigestMismatchError extends Error {
  override readonly name = "DigestMismatchError";
  constructor(
    readonly expected: Digest,
    readonly actual: Digest,
  ) {
    super(`artifact content hashes to ${actual}, not ${expected}`);
  }
}
