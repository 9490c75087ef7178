import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyCsrf } from "@/lib/auth/csrf";
import { hasDuplicateCookie, isAuthCookie, singleCookie, withoutDuplicateCookies } from "@/lib/http/cookies";

const SECRET = "s".repeat(32);
const token = "ab".repeat(32);
const hash = createHash("sha256").update(`${token}${SECRET}`).digest("hex");
const name = "next-auth.csrf-token";

beforeAll(() => {
  process.env.DATABASE_URL = "postgresql://pagoda@127.0.0.1:5432/pagoda";
  process.env.NEXTAUTH_SECRET = SECRET;
  process.env.PAGODA_ARTIFACT_SECRET = "a".repeat(32);
});

describe("cookies and the CSRF check", () => {
  it("reads the one cookie of that name, percent-decoded as next-auth wrote it", () => {
    expect(singleCookie(`other=1; ${name}=${token}%7C${hash}; x=y`, name)).toBe(`${token}|${hash}`);
    expect(verifyCsrf(singleCookie(`${name}=${token}%7C${hash}`, name), token)).toBe(true);
  });

  it.each([
    ["bad percent-encoding", `${name}=%E0%A4%A`],
    ["a lone percent sign", `${name}=${token}%7C${hash}%`],
    ["the cookie twice (one planted from a parent domain)", `${name}=${token}%7C${hash}; ${name}=${token}%7C${hash}`],
    ["no value", `${name}=`],
    ["a name only", name],
  ])("treats %s as no cookie", (_label, header) => {
    expect(() => singleCookie(header, name)).not.toThrow();
    expect(verifyCsrf(singleCookie(header, name), token)).toBe(false);
  });

  it.each([
    ["no separator", token],
    ["three parts", `${token}|${hash}|x`],
    ["odd characters", `${token}\u0000|${hash}`],
    ["a non-hex token", `${"zz".repeat(32)}|${hash}`],
    ["a hash of another secret", `${token}|${"0".repeat(64)}`],
    ["a very long value", `${"a".repeat(10_000)}|${hash}`],
  ])("refuses a cookie with %s, without throwing", (_label, value) => {
    expect(verifyCsrf(value, token)).toBe(false);
  });

  it("refuses a header that is not the cookie's token", () => {
    const value = `${token}|${hash}`;
    expect(verifyCsrf(value, "cd".repeat(32))).toBe(false);
    expect(verifyCsrf(value, `${token}x`)).toBe(false);
    expect(verifyCsrf(value, "")).toBe(false);
    expect(verifyCsrf(value, null)).toBe(false);
  });

  it("drops every sign-in cookie sent twice under one name, and keeps the rest as they were", () => {
    expect(withoutDuplicateCookies("a=1; b=2", isAuthCookie)).toBeNull();
    expect(withoutDuplicateCookies(null, isAuthCookie)).toBeNull();
    expect(withoutDuplicateCookies("next-auth.session-token=mine; x=%41; next-auth.session-token=planted", isAuthCookie)).toBe("x=%41");
    expect(withoutDuplicateCookies("next-auth.csrf-token=1;next-auth.csrf-token=1;_ga=2;_ga=3", isAuthCookie)).toBe("_ga=2; _ga=3");
  });

  it("finds a sign-in cookie sent twice, and only those", () => {
    expect(hasDuplicateCookie("next-auth.session-token=a; next-auth.session-token=b", isAuthCookie)).toBe(true);
    expect(hasDuplicateCookie("__Secure-next-auth.session-token.0=a; __Secure-next-auth.session-token.0=b", isAuthCookie)).toBe(true);
    expect(hasDuplicateCookie("__Host-next-auth.csrf-token=a;__Host-next-auth.csrf-token=b", isAuthCookie)).toBe(true);
    expect(hasDuplicateCookie("next-auth.session-token=a; next-auth.csrf-token=b", isAuthCookie)).toBe(false);
    // Another application's cookie on a parent domain is not ours to judge.
    expect(hasDuplicateCookie("_ga=1; _ga=2", isAuthCookie)).toBe(false);
    expect(hasDuplicateCookie(null, isAuthCookie)).toBe(false);
  });
});
