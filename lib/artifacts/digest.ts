/** The identity of an artifact: sha256 of the exact tar.gz bytes. */

import "server-only";
export type Digest = `sha256:${string}`;

const DIGEST = /^sha256:([0-9a-f]{64})$/;
const HEX = /^[0-9a-f]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === "string" && DIGEST.test(value);
}

/**
 * The 64 lowercase hex characters of a digest. Everything that builds a
 * path or object key goes through here, so a malformed value can never
 * become "../" in a file name.
 */
export function digestHex(digest: string): string {
  const match = DIGEST.exec(digest);
  if (!match?.[1]) throw new TypeError(`not a sha256 digest: ${JSON.stringify(digest).slice(0, 80)}`);
  return match[1];
}

export function digestFromHex(hex: string): Digest {
  if (!HEX.test(hex)) throw new TypeError(`not a sha256 hex string: ${JSON.stringify(hex).slice(0, 80)}`);
  return `sha256:${hex}`;
}
