import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * The shape of a Pagoda API token, and the checks on it that need no
 * database. A token is `pgd_<public id>_<secret>`:
 *
 * - `pgd_` lets secret scanners recognise a leaked one;
 * - the public id (16 characters of lower-case base32, 80 random bits) is
 *   not secret: it names the row, and is shown in the token list;
 * - the secret (32 random bytes, base64url, 43 characters) is never stored:
 *   the row keeps its SHA-256. The secret is random, not chosen by a person,
 *   so a fast hash is enough; a slow one would only cost every request.
 */
export const TOKEN_PREFIX = "pgd_";
export const PUBLIC_ID_LENGTH = 16;
const SECRET_BYTES = 32;
const SECRET_LENGTH = 43;
export const TOKEN_LENGTH = TOKEN_PREFIX.length + PUBLIC_ID_LENGTH + 1 + SECRET_LENGTH;
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

export const TOKEN_PATTERN = new RegExp(`^${TOKEN_PREFIX}([a-z2-7]{${PUBLIC_ID_LENGTH}})_([A-Za-z0-9_-]{${SECRET_LENGTH}})$`);
/** Enough of a token to recognise one inside a longer text (a URL, a message). */
const TOKEN_INSIDE = new RegExp(`${TOKEN_PREFIX}[a-z2-7]{${PUBLIC_ID_LENGTH}}_`);

export interface NewToken {
  /** Shown once, to the person who created it. */
  token: string;
  publicId: string;
  secretHash: string;
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export function generateToken(): NewToken {
  const idBytes = randomBytes(PUBLIC_ID_LENGTH);
  const publicId = Array.from(idBytes, (byte) => BASE32[byte % 32]).join("");
  const secret = randomBytes(SECRET_BYTES).toString("base64url");
  return { token: `${TOKEN_PREFIX}${publicId}_${secret}`, publicId, secretHash: hashSecret(secret) };
}

/** The two parts of a well-formed token, or null. */
export function splitToken(raw: string): { publicId: string; secret: string } | null {
  const match = TOKEN_PATTERN.exec(raw);
  return match ? { publicId: match[1]!, secret: match[2]! } : null;
}

/**
 * Whether `secret` is the one whose hash is `storedHash`. Both sides are
 * SHA-256 digests, so they always have the same length and
 * crypto.timingSafeEqual compares every byte whatever the first difference:
 * how long the answer takes says nothing about how much of a guess was right.
 * A stored value that is not a digest matches nothing.
 */
export function secretMatches(secret: string, storedHash: string): boolean {
  const given = Buffer.from(hashSecret(secret), "hex");
  const valid = /^[0-9a-f]{64}$/.test(storedHash);
  const stored = valid ? Buffer.from(storedHash, "hex") : Buffer.alloc(given.length);
  return timingSafeEqual(given, stored) && valid;
}

/** Longest Authorization header read at all: a token and its scheme, with room for whitespace. */
export const AUTHORIZATION_MAX = 256;

export type AuthorizationProblem = "empty" | "no_scheme" | "not_bearer" | "no_token" | "several" | "too_long" | "bad_characters" | "not_a_token";

export const AUTHORIZATION_MESSAGES: Record<AuthorizationProblem, string> = {
  empty: 'The Authorization header is empty. Send "Authorization: Bearer <token>" with a Pagoda API token.',
  no_scheme: 'The Authorization header needs the scheme before the token: "Bearer <token>".',
  not_bearer: 'Only API tokens are accepted in the Authorization header, as "Bearer <token>".',
  no_token: 'The Authorization header has no token after "Bearer".',
  several: "The Authorization header must carry exactly one token.",
  too_long: `The Authorization header is longer than the ${AUTHORIZATION_MAX} characters a Pagoda API token needs.`,
  bad_characters: "The API token has characters that a Pagoda API token never contains. Copy it again from the workspace settings.",
  not_a_token: `This is not a Pagoda API token: those start with ${TOKEN_PREFIX} and are ${TOKEN_LENGTH} characters long.`,
};

/**
 * Reads `Authorization: Bearer <token>`. The scheme is case-insensitive
 * (RFC 9110); everything else about the header is strict, and each way it
 * can be wrong has its own answer. Several headers arrive joined by commas.
 */
export function parseAuthorization(header: string): { token: { publicId: string; secret: string } } | { problem: AuthorizationProblem } {
  if (header.length > AUTHORIZATION_MAX) return { problem: "too_long" };
  const value = header.trim();
  if (value === "") return { problem: "empty" };
  const words = value.split(/[ \t]+/);
  const scheme = words[0]!;
  if (scheme.toLowerCase() !== "bearer") return { problem: words.length === 1 ? "no_scheme" : "not_bearer" };
  const rest = words.slice(1);
  if (rest.length === 0) return { problem: "no_token" };
  if (rest.length > 1 || rest[0]!.includes(",")) return { problem: "several" };
  const raw = rest[0]!;
  // RFC 6750's token68 characters; ours are a subset of them.
  if (!/^[A-Za-z0-9._~+/-]+=*$/.test(raw)) return { problem: "bad_characters" };
  const token = splitToken(raw);
  return token ? { token } : { problem: "not_a_token" };
}

/** Whether a URL's query carries something that is, or is meant to be, an API token. */
export function tokenInQuery(params: URLSearchParams): boolean {
  for (const [name, value] of params) {
    if (/^(access_token|token|api_token|bearer|authorization)$/i.test(name)) return true;
    if (TOKEN_INSIDE.test(value) || TOKEN_INSIDE.test(name)) return true;
  }
  return false;
}
