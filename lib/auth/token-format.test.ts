import * as crypto from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";

// The comparison must go through crypto.timingSafeEqual with two buffers of
// one length: this spy records every call while keeping the real function.
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const {
  AUTHORIZATION_MAX,
  AUTHORIZATION_MESSAGES,
  TOKEN_LENGTH,
  TOKEN_PATTERN,
  generateToken,
  hashSecret,
  parseAuthorization,
  secretMatches,
  splitToken,
  tokenInQuery,
} = await import("@/lib/auth/token-format");

const compare = vi.mocked(crypto.timingSafeEqual);

beforeEach(() => {
  compare.mockClear();
});

describe("token format", () => {
  it("mints pgd_<id>_<secret> tokens whose secret only the hash stands for", () => {
    const minted = generateToken();
    expect(minted.token).toMatch(TOKEN_PATTERN);
    expect(minted.token).toHaveLength(TOKEN_LENGTH);
    const parts = splitToken(minted.token)!;
    expect(parts.publicId).toBe(minted.publicId);
    expect(minted.secretHash).toBe(hashSecret(parts.secret));
    expect(minted.secretHash).not.toContain(parts.secret);
    expect(generateToken().token).not.toBe(minted.token);
  });
});

describe("secretMatches", () => {
  const { token, secretHash } = generateToken();
  const secret = splitToken(token)!.secret;

  it("accepts the secret of the hash", () => {
    expect(secretMatches(secret, secretHash)).toBe(true);
  });

  it.each([
    ["one character changed", `${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`],
    ["the first character changed", `${secret.startsWith("A") ? "B" : "A"}${secret.slice(1)}`],
    ["a prefix of it", secret.slice(0, 10)],
    ["it twice", secret + secret],
    ["nothing", ""],
  ])("refuses %s, comparing equal-length digests in constant time", (_label, guess) => {
    expect(secretMatches(guess, secretHash)).toBe(false);
    expect(compare).toHaveBeenCalledTimes(1);
    const [left, right] = compare.mock.calls[0]!;
    expect((left as Buffer).length).toBe(32);
    expect((right as Buffer).length).toBe(32);
  });

  it.each([
    ["empty (no such token)", ""],
    ["not hex", "z".repeat(64)],
    ["too short", secretHash.slice(2)],
    ["upper-case hex of the right hash", secretHash.toUpperCase()],
  ])("matches nothing against a stored value that is %s, still doing the comparison", (_label, stored) => {
    expect(secretMatches(secret, stored)).toBe(false);
    expect(compare).toHaveBeenCalledTimes(1);
  });

  it("does not match a stored zero digest with an input that hashes to anything", () => {
    expect(secretMatches(secret, "0".repeat(64))).toBe(false);
  });
});

describe("parseAuthorization", () => {
  const { token, publicId } = generateToken();

  it.each([
    ["Bearer", `Bearer ${token}`],
    ["lower-case bearer", `bearer ${token}`],
    ["spaces around", `  Bearer   ${token}  `],
  ])("reads a token sent as %s", (_label, header) => {
    expect(parseAuthorization(header)).toEqual({ token: { publicId, secret: splitToken(token)!.secret } });
  });

  it.each([
    ["empty", "", "empty"],
    ["only spaces", "   ", "empty"],
    ["no scheme", token, "no_scheme"],
    ["Basic", `Basic ${Buffer.from(`user:${token}`).toString("base64")}`, "not_bearer"],
    ["a token scheme of another kind", `Token ${token}`, "not_bearer"],
    ["Bearer with nothing", "Bearer", "no_token"],
    ["two tokens", `Bearer ${token} ${token}`, "several"],
    ["two headers joined", `Bearer ${token}, Bearer ${token}`, "several"],
    ["a comma list", `Bearer ${token},x`, "several"],
    ["overlong", `Bearer ${token}${"a".repeat(AUTHORIZATION_MAX)}`, "too_long"],
    ["bad characters", `Bearer pgd_${"a".repeat(16)}_<script>`, "bad_characters"],
    ["quotes", `Bearer "${token}"`, "bad_characters"],
    ["a JWT", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo", "not_a_token"],
    ["the prefix only", "Bearer pgd_", "not_a_token"],
    ["a token cut short", `Bearer ${token.slice(0, -1)}`, "not_a_token"],
    ["upper-case public id", `Bearer pgd_${publicId.toUpperCase()}${token.slice(4 + 16)}`, "not_a_token"],
  ])("refuses %s with its own message", (_label, header, problem) => {
    expect(parseAuthorization(header)).toEqual({ problem });
    expect(AUTHORIZATION_MESSAGES[problem as keyof typeof AUTHORIZATION_MESSAGES]).toBeTruthy();
  });
});

describe("tokenInQuery", () => {
  const { token } = generateToken();

  it.each([
    ["access_token", `access_token=${token}`],
    ["token", "token=anything"],
    ["a token as the message", `message=${encodeURIComponent(`deploy ${token}`)}`],
    ["a token as a parameter name", `${token}=1`],
  ])("finds %s", (_label, query) => {
    expect(tokenInQuery(new URLSearchParams(query))).toBe(true);
  });

  it("leaves ordinary queries alone", () => {
    expect(tokenInQuery(new URLSearchParams("message=Fix%20pgd_%20typo&page=2"))).toBe(false);
  });
});
