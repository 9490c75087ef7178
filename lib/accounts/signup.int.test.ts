import { afterEach, describe, expect, it, vi } from "vitest";
import { signUp } from "@/lib/accounts/signup";
import { verifyPassword } from "@/lib/auth/password";
import { db } from "@/lib/db";
import { ConflictError } from "@/lib/errors";
import * as slug from "@/lib/tenancy/slug";

async function rowsFor(email: string) {
  const users = await db().user.findMany({ where: { email }, include: { memberships: { include: { tenant: true } } } });
  const tenants = await db().tenant.count({ where: { memberships: { some: { user: { email } } } } });
  const audits = await db().auditEvent.count({ where: { action: "user.signup", target: email } });
  return { users, tenants, audits };
}

describe("sign-up", () => {
  afterEach(() => vi.restoreAllMocks());

  it("creates the user, a personal tenant and an owner membership together", async () => {
    const result = await signUp({ name: "Ada", email: "Ada@Example.com", password: "analytical engine 1843" }, "10.0.0.1");
    const { users, audits } = await rowsFor("ada@example.com");
    expect(users).toHaveLength(1);
    const user = users[0]!;
    expect(user.id).toBe(result.userId);
    expect(user.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(user.passwordHash, "analytical engine 1843")).toBe(true);
    expect(await verifyPassword(user.passwordHash, "analytical engine 1844")).toBe(false);
    expect(user.memberships).toHaveLength(1);
    expect(user.memberships[0]!.role).toBe("owner");
    expect(user.memberships[0]!.tenant.slug).toBe(result.tenantSlug);
    expect(audits).toBe(1);
  });

  it("refuses a duplicate email, whatever its case, and writes nothing", async () => {
    await signUp({ name: "Bob", email: "bob@example.com", password: "a long and varied passphrase" }, null);
    const tenantsBefore = await db().tenant.count();
    const error = await signUp({ name: "Bobby", email: "BOB@example.com", password: "another long passphrase" }, null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).code).toBe("email_taken");
    expect((error as ConflictError).message).toContain("already exists");
    expect(await db().tenant.count()).toBe(tenantsBefore);
    expect((await rowsFor("bob@example.com")).users).toHaveLength(1);
  });

  it("lets exactly one of many simultaneous sign-ups with one email through", async () => {
    const attempts = await Promise.allSettled(
      Array.from({ length: 6 }, () => signUp({ name: "Cy", email: "cy@example.com", password: "a long and varied passphrase" }, null)),
    );
    expect(attempts.filter((a) => a.status === "fulfilled")).toHaveLength(1);
    for (const failed of attempts.filter((a) => a.status === "rejected")) {
      expect(failed.reason).toBeInstanceOf(ConflictError);
    }
    const { users, tenants } = await rowsFor("cy@example.com");
    expect(users).toHaveLength(1);
    expect(tenants).toBe(1);
  });

  it.each([
    [{ name: "Dee", email: "not-an-email", password: "a long and varied passphrase" }, "email"],
    [{ name: "Dee", email: "dee@example.com", password: "short" }, "password"],
    [{ name: "x".repeat(81), email: "dee@example.com", password: "a long and varied passphrase" }, "name"],
    [{ name: "Dee", email: `${"d".repeat(250)}@example.com`, password: "a long and varied passphrase" }, "email"],
  ])("refuses bad input on the %# field and writes nothing", async (input, field) => {
    const usersBefore = await db().user.count();
    const error = await signUp(input, null).catch((e: unknown) => e);
    expect((error as { issues?: { path: string[] }[] }).issues?.[0]?.path).toEqual([field]);
    expect(await db().user.count()).toBe(usersBefore);
  });

  it("rolls the user back when the tenant cannot be created", async () => {
    // A slug longer than its column makes the second insert fail inside the transaction.
    vi.spyOn(slug, "tenantSlugFromEmail").mockReturnValue("x".repeat(30));
    const error = await signUp({ name: "Eve", email: "eve@example.com", password: "a long and varied passphrase" }, null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const { users, audits } = await rowsFor("eve@example.com");
    expect(users).toHaveLength(0);
    expect(audits).toBe(0);
  });
});
