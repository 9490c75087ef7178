import { describe, expect, it } from "vitest";
import { consumeAttempt, LIMITERS_KEY, RateLimitedError, resetAttempts, clientIp } from "@/lib/auth/rate-limit";
import { db } from "@/lib/db";
import { forgetProcessSingleton } from "@/lib/process-singleton";

function forgetInProcessState() {
  // Drop this process's limiter objects, as a second dashboard process would start without them.
  forgetProcessSingleton(LIMITERS_KEY);
}

describe("sign-in rate limits", () => {
  it("refuses the 11th attempt for one email with a retry time, across processes", async () => {
    const email = "target@example.com";
    for (let i = 0; i < 5; i += 1) await consumeAttempt({ signInEmail: email });
    forgetInProcessState();
    for (let i = 0; i < 5; i += 1) await consumeAttempt({ signInEmail: email });
    const error = await consumeAttempt({ signInEmail: email }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBeGreaterThan(0);
    expect((error as RateLimitedError).message).toMatch(/Too many attempts. Try again in \d+ minutes?\./);
    const row = await db().rateLimit.findUnique({ where: { key: `signInEmail:${email}` } });
    expect(row?.points).toBeGreaterThan(10);
    // Another email is not affected.
    await consumeAttempt({ signInEmail: "someone-else@example.com" });
  });

  it("forgives an email after a successful sign-in", async () => {
    const email = "forgiven@example.com";
    for (let i = 0; i < 10; i += 1) await consumeAttempt({ signInEmail: email });
    await resetAttempts("signInEmail", email);
    await consumeAttempt({ signInEmail: email });
  });

  it("limits by IP as well as by email", async () => {
    for (let i = 0; i < 30; i += 1) await consumeAttempt({ signInIp: "203.0.113.9", signInEmail: `ip-${i}@example.com` });
    await expect(consumeAttempt({ signInIp: "203.0.113.9", signInEmail: "fresh@example.com" })).rejects.toBeInstanceOf(RateLimitedError);
  });

  it("takes the right-most forwarded address, the one the nearest proxy wrote", () => {
    expect(clientIp(new Headers({ "x-forwarded-for": "1.1.1.1, 198.51.100.7" }))).toBe("198.51.100.7");
    expect(clientIp(new Headers())).toBe("unknown");
  });
});
