import "server-only";
import { createHmac, timingSafeEqual } from "node:crypto";
import { digestHex, type Digest } from "./digest";

/**
 * Signed artifact URLs: /api/artifacts/<hex>?sig=<keyId>.<base64url mac>.
 *
 * There is deliberately no expiry. The URL lives in the StaticSite spec and
 * every pod start (rollout, reschedule, node drain months later) fetches
 * it again; an expiring URL would make a routine restart fail unless the
 * dashboard kept rewriting specs. What an expiry would protect is already
 * covered: the artifact is immutable and verified by digest, and the MAC
 * only answers "did the dashboard hand out this digest". Revocation is key
 * rotation: add a new key, re-sign the specs, then drop the old key.
 *
 * The MAC covers a domain tag, the key id and the digest, so a signature
 * cannot be replayed for another digest, under another key id, or for a
 * different purpose that happens to share the secret.
 */
export interface SigningKey {
  /** Short public name of the key, carried in the URL: [A-Za-z0-9_-]{1,32}. */
  id: string;
  /** At least 32 bytes of secret material. */
  secret: string | Buffer;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const MIN_SECRET_BYTES = 32;

function mac(key: SigningKey, hex: string): Buffer {
  return createHmac("sha256", key.secret).update(`pagoda-artifact/v1\n${key.id}\n${hex}`).digest();
}

function checkKey(key: SigningKey): void {
  if (!KEY_ID.test(key.id)) throw new TypeError(`signing key id must match ${KEY_ID}, got ${JSON.stringify(key.id)}`);
  if (Buffer.byteLength(key.secret) < MIN_SECRET_BYTES) throw new TypeError(`signing key ${key.id} is shorter than ${MIN_SECRET_BYTES} bytes`);
}

export function signArtifactPath(digest: Digest, key: SigningKey): string {
  checkKey(key);
  const hex = digestHex(digest);
  return `/api/artifacts/${hex}?sig=${key.id}.${mac(key, hex).toString("base64url")}`;
}

/**
 * True only if sig was made by one of keys for this hex digest. Keys are
 * looked up by the id in the signature, so several may be active during a
 * rotation. Never throws on hostile input.
 */
export function verifyArtifactSignature(hex: string, sig: string, keys: SigningKey | readonly SigningKey[]): boolean {
  if (!/^[0-9a-f]{64}$/.test(hex)) return false;
  const dot = sig.indexOf(".");
  if (dot <= 0) return false;
  const id = sig.slice(0, dot);
  const encoded = sig.slice(dot + 1);
  if (!/^[A-Za-z0-9_-]{43}$/.test(encoded)) return false;
  const key = (Array.isArray(keys) ? (keys as readonly SigningKey[]) : [keys as SigningKey]).find((k) => k.id === id);
  if (!key) return false;
  checkKey(key);
  // Compare the text, not the decoded bytes: the last of the 43 characters
  // carries two padding bits the decoder ignores, so four spellings decode to
  // the same MAC. Only the one the dashboard hands out is accepted.
  const expected = Buffer.from(mac(key, hex).toString("base64url"));
  return timingSafeEqual(Buffer.from(encoded), expected);
}
