import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signUp } from "@/lib/accounts/signup";
import { AUDIT_LIMITS, recordAudit } from "@/lib/audit";
import { consumeAttempt, resetAttempts } from "@/lib/auth/rate-limit";
import { db } from "@/lib/db";
import { EMAIL_MAX, NAME_MAX } from "@/lib/validation";
import { withAuditWritesFailing } from "@/tests/support/audit";

/** An address of exactly `length` characters that the sign-up form accepts. */
function emailOfLength(length: number): string {
  const local = `${"a".repeat(56)}${randomUUID().slice(0, 8)}`;
  const tail = ".com";
  let domain = "";
  while (local.length + 1 + domain.length + tail.length < length) {
    const room = length - (local.length + 1 + domain.length + tail.length);
    domain += domain === "" ? "b".repeat(Math.min(63, room)) : `.${"c".repeat(Math.min(63, room - 1))}`;
  }
  return `${local}@${domain}${tail}`;
}

describe("audit events hold what people send", () => {
  it("stores NUL, lone surrogates, controls and over-long values instead of failing", async () => {
    const tag = randomUUID();
    const written = await recordAudit({
      action: "test.hostile",
      outcome: "failure",
      target: `a\u0000b\ud800${"x".repeat(1000)}`,
      ip: `${"9".repeat(500)}\u0000`,
      details: { tag, entry: "ok.html\u0000.php", lone: "\udc00", nested: { "k\u0000": ["\u001b[2J", "\u202eexe"] } },
    });
    expect(written).toBe(true);
    const row = await db().auditEvent.findFirstOrThrow({ where: { action: "test.hostile", details: { path: ["tag"], equals: tag } } });
    expect(row.target?.startsWith("a\u2400b\ufffdx")).toBe(true);
    expect(Array.from(row.target!)).toHaveLength(AUDIT_LIMITS.target);
    expect(row.ip).toHaveLength(AUDIT_LIMITS.ip);
    expect(row.details).toEqual({ tag, entry: "ok.html\u2400.php", lone: "\ufffd", nested: { "k\u2400": ["\u241b[2J", "\ufffdexe"] } });
  });

  it("signs up a 254-character email and an 80-character name, and the audit row keeps the whole email", async () => {
    const email = emailOfLength(EMAIL_MAX);
    expect(email).toHaveLength(254);
    const name = "N".repeat(NAME_MAX);
    // A client can choose X-Forwarded-For when no proxy is in front: its last entry may be anything.
    const { userId, tenantSlug } = await signUp({ name, email, password: "a long and varied passphrase" }, "203.0.113.7".repeat(20));
    const user = await db().user.findUniqueOrThrow({ where: { id: userId } });
    expect(user.email).toBe(email);
    const tenant = await db().tenant.findUniqueOrThrow({ where: { slug: tenantSlug } });
    expect(tenant.name).toBe(`${name}'s sites`);
    const audit = await db().auditEvent.findFirstOrThrow({ where: { action: "user.signup", actorId: userId } });
    expect(audit.target).toBe(email);
    expect(audit.ip).toHaveLength(AUDIT_LIMITS.ip);
    // Signing in counts an attempt under "signInEmail:<email>", the longest key the limiter stores.
    await consumeAttempt({ signInEmail: email });
    await resetAttempts("signInEmail", email);
  });

  it("counts attempts for a client address of any length (X-Forwarded-For is the client's to choose)", async () => {
    const long = `198.51.100.${"9".repeat(4000)}`;
    await consumeAttempt({ signUpIp: long });
    await consumeAttempt({ signUpIp: long });
    const other = `${long}0`;
    await consumeAttempt({ signUpIp: other });
    // Each address keeps its own count, under a key that fits the column.
    const rows = await db().rateLimit.findMany({ where: { key: { startsWith: "signUpIp:sha256:" } } });
    expect(rows.map((r) => r.points).sort()).toEqual([1, 2]);
    expect(rows.every((r) => r.key.length <= 320)).toBe(true);
  });

  it("logs a failed write on its own instead of throwing; inside a transaction the action fails with it", async () => {
    const email = `down-${randomUUID().slice(0, 8)}@example.com`;
    await withAuditWritesFailing(async () => {
      expect(await recordAudit({ action: "test.outage", outcome: "success" })).toBe(false);
      // Sign-up writes its audit row in its own transaction: all or nothing.
      await expect(signUp({ name: "Dee", email, password: "a long and varied passphrase" }, null)).rejects.toThrow();
    });
    expect(await db().user.count({ where: { email } })).toBe(0);
    expect(await db().auditEvent.count({ where: { action: "test.outage" } })).toBe(0);
    expect(await recordAudit({ action: "test.outage", outcome: "success" })).toBe(true);
  });
});
