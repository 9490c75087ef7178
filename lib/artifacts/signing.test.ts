import { describe, expect, it } from "vitest";
import { signArtifactPath, verifyArtifactSignature, type SigningKey } from "./signing";

const HEX = "a".repeat(64);
const OTHER = "b".repeat(64);
const k1: SigningKey = { id: "k1", secret: "0123456789abcdef0123456789abcdef-one" };
const k2: SigningKey = { id: "k2", secret: "0123456789abcdef0123456789abcdef-two" };

function sigOf(url: string): string {
  return new URL(url, "http://x").searchParams.get("sig") ?? "";
}

describe("artifact URL signing", () => {
  it("signs a path that verifies for its digest only", () => {
    const url = signArtifactPath(`sha256:${HEX}`, k1);
    expect(url).toMatch(new RegExp(`^/api/artifacts/${HEX}\\?sig=k1\\.[A-Za-z0-9_-]{43}$`));
    expect(verifyArtifactSignature(HEX, sigOf(url), k1)).toBe(true);
    expect(verifyArtifactSignature(OTHER, sigOf(url), k1)).toBe(false);
  });

  it("is deterministic, so specs do not churn", () => {
    expect(signArtifactPath(`sha256:${HEX}`, k1)).toBe(signArtifactPath(`sha256:${HEX}`, k1));
  });

  it("supports rotation: old and new keys verify while both are configured", () => {
    const old = sigOf(signArtifactPath(`sha256:${HEX}`, k1));
    const fresh = sigOf(signArtifactPath(`sha256:${HEX}`, k2));
    expect(verifyArtifactSignature(HEX, old, [k2, k1])).toBe(true);
    expect(verifyArtifactSignature(HEX, fresh, [k2, k1])).toBe(true);
    expect(verifyArtifactSignature(HEX, old, [k2])).toBe(false);
  });

  it("binds the key id: a MAC relabelled with another id fails", () => {
    const sig = sigOf(signArtifactPath(`sha256:${HEX}`, k1));
    const sameSecretOtherId: SigningKey = { id: "k9", secret: k1.secret };
    expect(verifyArtifactSignature(HEX, sig.replace(/^k1\./, "k9."), sameSecretOtherId)).toBe(false);
  });

  it("rejects tampered and malformed signatures without throwing", () => {
    const sig = sigOf(signArtifactPath(`sha256:${HEX}`, k1));
    const flipped = sig.slice(0, -2) + (sig.at(-2) === "A" ? "B" : "A") + sig.at(-1);
    for (const bad of [flipped, "", "k1.", ".abc", "k1", `k1.${"A".repeat(42)}`, `k1.${"A".repeat(44)}`, "k1.!!!", sig + "="]) {
      expect(verifyArtifactSignature(HEX, bad, k1)).toBe(false);
    }
    expect(verifyArtifactSignature("../etc", sig, k1)).toBe(false);
    expect(verifyArtifactSignature(HEX.toUpperCase(), sig, k1)).toBe(false);
  });

  it("accepts only the canonical spelling of a MAC, not one differing in the padding bits", () => {
    const sig = sigOf(signArtifactPath(`sha256:${HEX}`, k1));
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(sig.at(-1)!);
    // The last character holds 4 MAC bits and 2 padding bits; these three decode to the same bytes.
    for (const padding of [1, 2, 3]) {
      const alias = sig.slice(0, -1) + alphabet[last ^ padding];
      expect(Buffer.from(alias.split(".")[1]!, "base64url")).toEqual(Buffer.from(sig.split(".")[1]!, "base64url"));
      expect(verifyArtifactSignature(HEX, alias, k1)).toBe(false);
    }
  });

  it("refuses weak keys and malformed digests when signing", () => {
    expect(() => signArtifactPath(`sha256:${HEX}`, { id: "k1", secret: "short" })).toThrow(/32 bytes/);
    expect(() => signArtifactPath(`sha256:${HEX}`, { id: "bad id", secret: k1.secret })).toThrow(/key id/);
    expect(() => signArtifactPath(`sha256:${"z".repeat(64)}`, k1)).toThrow(TypeError);
  });
});
