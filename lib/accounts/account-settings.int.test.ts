/**
 * Account settings on real parts: Postgres, and the run's Mailpit for the
 * messages an email change sends (docs/accounts.md, "Account settings").
 */
import { randomUUID } from "node:crypto";
import { encode } from "next-auth/jwt";
import { describe, expect, it, inject } from "vitest";
import { changeName, deleteAccount } from "@/lib/accounts/account";
import { checkEmailChange, confirmEmailChange, requestEmailChange } from "@/lib/accounts/email-change";
import { signUp } from "@/lib/accounts/signup";
import { createApiToken } from "@/lib/auth/api-tokens";
import { RateLimitedError } from "@/lib/auth/rate-limit";
import { userForSessionToken } from "@/lib/auth/session";
import { freshClaims, SESSION_IDLE_SECONDS } from "@/lib/auth/session-token";
import { db } from "@/lib/db";
import { errorResponse } from "@/lib/http/errors";
import { actorFor } from "@/lib/tenancy/access";
import { newAccount } from "@/tests/support/accounts";
import { messagesTo, waitForMessage, type MailMessage } from "@/tests/support/mailpit";

const PASSWORD = "a long and varied passphrase";
const mailpit = inject("mailpitUrl");

const fresh = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;

async function sessionOf(userId: string): Promise<string> {
  const user = await db().user.findUniqueOrThrow({ where: { id: userId } });
  const claims = await freshClaims(user, { ip: "198.51.100.20", userAgent: "test" });
  return encode({ token: { name: user.name, email: user.email, ...claims }, secret: process.env.NEXTAUTH_SECRET!, maxAge: SESSION_IDLE_SECONDS });
}

function changeLink(message: MailMessage): string {
  const links = [...message.Text.matchAll(/https?:\/\/\S+/g)].map((m) => m[0]).filter((url) => new URL(url).pathname === "/account/email");
  expect(links).toHaveLength(1);
  return new URL(links[0]!).searchParams.get("token")!;
}

async function askForChange(userId: string, newEmail: string): Promise<string> {
  await requestEmailChange(userId, { newEmail, password: PASSWORD }, "198.51.100.21");
  return changeLink(await waitForMessage(mailpit, newEmail));
}

interface Refusal {
  status: number;
  code: string;
  message: string;
  fields: Record<string, string>;
  error: unknown;
}

/** The refusal as the API answers it (lib/http/errors.ts), with the error itself. */
async function failure(promise: Promise<unknown>): Promise<Refusal> {
  const error = await promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: unknown) => e,
  );
  const response = errorResponse(error);
  const body = (await response.json()) as { error: { code: string; message: string; fields?: Record<string, string> } };
  return { status: response.status, code: body.error.code, message: body.error.message, fields: body.error.fields ?? {}, error };
}

describe("name change", () => {
  it("changes the name, trimmed, and audits it", async () => {
    const { userId, email } = await newAccount("renamer");
    expect(await changeName(userId, { name: "  Ada Lovelace " }, "198.51.100.30")).toEqual({ name: "Ada Lovelace" });
    expect((await db().user.findUniqueOrThrow({ where: { id: userId } })).name).toBe("Ada Lovelace");
    expect(await db().auditEvent.findFirst({ where: { actorId: userId, action: "user.name_change" } })).toMatchObject({
      outcome: "success",
      target: email,
      details: { from: "renamer", to: "Ada Lovelace" },
    });
  });

  it("refuses what sign-up refuses, and changes nothing", async () => {
    const { userId } = await newAccount("bad-names");
    for (const [name, message] of [
      ["", "Enter your name."],
      ["x".repeat(81), "Names can be at most 80 characters."],
      ["Eve\r\nBcc: victim@example.com", "Names cannot contain control characters, text-direction overrides or broken characters."],
      ["evil\u202egnp.exe", "Names cannot contain control characters, text-direction overrides or broken characters."],
    ]) {
      const error = await failure(changeName(userId, { name }, null));
      expect([error.status, error.code, error.fields.name]).toEqual([400, "invalid_input", message]);
    }
    expect((await db().user.findUniqueOrThrow({ where: { id: userId } })).name).toBe("bad-names");
  });
});

describe("email change", () => {
  it("sends a link to the new address; following it moves the account, marks it verified, tells the old address, and sessions go on", async () => {
    const { userId, email } = await newAccount("mover");
    const session = await sessionOf(userId);
    const newEmail = fresh("moved");
    const token = await askForChange(userId, newEmail);
    // Nothing changes until the link is followed, and reading it spends nothing.
    expect((await db().user.findUniqueOrThrow({ where: { id: userId } })).email).toBe(email);
    expect(await checkEmailChange(token)).toEqual({ userId, email, newEmail });
    expect(await checkEmailChange(token)).toEqual({ userId, email, newEmail });

    expect(await confirmEmailChange(userId, { token }, "198.51.100.22")).toEqual({ email: newEmail });

    const user = await db().user.findUniqueOrThrow({ where: { id: userId } });
    expect(user.email).toBe(newEmail);
    expect(user.emailVerifiedAt).not.toBeNull();
    expect(await userForSessionToken(session)).toMatchObject({ id: userId, email: newEmail });
    const notice = await waitForMessage(mailpit, email);
    expect(notice.Subject).toBe("The email address of your Pagoda account was changed");
    expect(notice.Text).toContain(newEmail);
    expect(await db().auditEvent.findFirst({ where: { actorId: userId, action: "user.email_change" } })).toMatchObject({
      outcome: "success",
      target: newEmail,
      details: { from: email },
    });
  });

  it("refuses a link used once already, and the account stays where it moved", async () => {
    const { userId } = await newAccount("reuser");
    const first = fresh("first");
    const token = await askForChange(userId, first);
    await confirmEmailChange(userId, { token }, null);
    const error = await failure(confirmEmailChange(userId, { token }, null));
    expect([error.status, error.code]).toEqual([400, "link_used"]);
    expect((await db().user.findUniqueOrThrow({ where: { id: userId } })).email).toBe(first);
  });

  it("answers 409 email_taken when another account took the address meanwhile, and changes nothing", async () => {
    const { userId, email } = await newAccount("slow-mover");
    const wanted = fresh("contested");
    const token = await askForChange(userId, wanted);
    await signUp({ name: "quicker", email: wanted, password: PASSWORD }, "198.51.100.23");

    const error = await failure(confirmEmailChange(userId, { token }, null));
    expect([error.status, error.code, error.message]).toEqual([409, "email_taken", "Another account already uses this address."]);
    const user = await db().user.findUniqueOrThrow({ where: { id: userId } });
    expect([user.email, user.emailVerifiedAt]).toEqual([email, null]);
    // Rolled back with the rest: the token was not spent either.
    expect(await db().emailToken.count({ where: { userId, purpose: "change_email", usedAt: { not: null } } })).toBe(0);
    expect(await db().auditEvent.findFirst({ where: { actorId: userId, action: "user.email_change" } })).toMatchObject({
      outcome: "failure",
      details: { reason: "email_taken" },
    });
  });

  it("refuses a link of another account to the signed-in person, spends nothing, and leaves both accounts alone", async () => {
    const alice = await newAccount("alice-link");
    const mallory = await newAccount("mallory-link");
    const target = fresh("alice-new");
    const token = await askForChange(alice.userId, target);

    const error = await failure(confirmEmailChange(mallory.userId, { token }, null));
    expect([error.status, error.code]).toEqual([403, "link_other_account"]);
    const [a, m] = await Promise.all([
      db().user.findUniqueOrThrow({ where: { id: alice.userId } }),
      db().user.findUniqueOrThrow({ where: { id: mallory.userId } }),
    ]);
    expect([a.email, m.email]).toEqual([alice.email, mallory.email]);
    // Still good for the account it was sent for.
    expect(await confirmEmailChange(alice.userId, { token }, null)).toEqual({ email: target });
  });

  it("refuses an address that would inject a header, before any link is made or mail sent", async () => {
    const { userId } = await newAccount("injector");
    for (const newEmail of [`${fresh("a")}\r\nBcc: victim@example.com`, `x@example.com>, victim@example.com`, `"a b"@example.com`]) {
      const error = await failure(requestEmailChange(userId, { newEmail, password: PASSWORD }, null));
      expect([error.status, error.code, Object.keys(error.fields)]).toEqual([400, "invalid_input", ["newEmail"]]);
    }
    expect(await db().emailToken.count({ where: { userId, purpose: "change_email" } })).toBe(0);
    expect(await messagesTo(mailpit, "victim@example.com")).toEqual([]);
  });

  it("needs the password, an address that is free and not the current one; each refusal makes no link", async () => {
    const { userId, email } = await newAccount("careful");
    const other = await newAccount("owner-of-address");
    const wrong = await failure(requestEmailChange(userId, { newEmail: fresh("x"), password: "not the password" }, null));
    expect([wrong.status, wrong.code, wrong.fields.password]).toEqual([403, "wrong_password", "Your password is not right."]);
    const taken = await failure(requestEmailChange(userId, { newEmail: other.email, password: PASSWORD }, null));
    expect([taken.status, taken.code]).toEqual([409, "email_taken"]);
    const same = await failure(requestEmailChange(userId, { newEmail: email.toUpperCase(), password: PASSWORD }, null));
    expect([same.status, same.code, same.fields.newEmail]).toEqual([400, "invalid_input", "This is already your address."]);
    expect(await db().emailToken.count({ where: { userId, purpose: "change_email" } })).toBe(0);
    expect(await messagesTo(mailpit, other.email)).toEqual([]);
  });

  it("guesses of the password are limited like sign-in", async () => {
    const { userId } = await newAccount("change-guesser");
    for (let i = 0; i < 10; i += 1) {
      expect((await failure(requestEmailChange(userId, { newEmail: fresh("g"), password: `guess ${i}` }, "198.51.100.24"))).code).toBe("wrong_password");
    }
    expect(await requestEmailChange(userId, { newEmail: fresh("g"), password: PASSWORD }, "198.51.100.24").catch((e: unknown) => e)).toBeInstanceOf(
      RateLimitedError,
    );
  });
});

describe("delete account", () => {
  async function siteIn(tenantId: string, name: string): Promise<void> {
    await db().site.create({ data: { tenantId, name, hostLabel: `${name}-${randomUUID().slice(0, 8)}` } });
  }

  it("refuses a wrong password and deletes nothing", async () => {
    const { userId } = await newAccount("keeper");
    const error = await failure(deleteAccount(userId, { password: "not it" }, null));
    expect([error.status, error.code]).toEqual([403, "wrong_password"]);
    expect(await db().user.count({ where: { id: userId } })).toBe(1);
  });

  it("refuses the last owner of a workspace with sites (409 last_owner, naming it), and deletes nothing", async () => {
    const { userId, actor } = await newAccount("last-owner");
    await siteIn(actor.tenantId, "blog");
    const session = await sessionOf(userId);
    const error = await failure(deleteAccount(userId, { password: PASSWORD }, null));
    expect([error.status, error.code]).toEqual([409, "last_owner"]);
    expect(error.message).toContain(actor.tenantSlug);
    expect(await db().user.count({ where: { id: userId } })).toBe(1);
    expect(await db().tenant.count({ where: { id: actor.tenantId } })).toBe(1);
    expect(await userForSessionToken(session)).toMatchObject({ id: userId });
    expect(await db().auditEvent.findFirst({ where: { actorId: userId, action: "user.delete" } })).toMatchObject({
      outcome: "failure",
      details: { reason: "last_owner", workspaces: [actor.tenantSlug] },
    });
  });

  it("removes the account, its lone empty workspace, memberships, tokens and sessions; a shared workspace and its sites stay", async () => {
    const owner = await newAccount("team-owner");
    await siteIn(owner.actor.tenantId, "shop");
    const leaver = await newAccount("leaver");
    // The leaver co-owns the team workspace, so it is not left without an owner, and made a token there.
    await db().membership.create({ data: { userId: leaver.userId, tenantId: owner.actor.tenantId, role: "owner" } });
    await createApiToken(await actorFor(leaver.userId, owner.actor.tenantSlug), { name: "ci", scopes: ["deploy"] }, null);
    const ownersToken = await createApiToken(owner.actor, { name: "owner's", scopes: ["read"] }, null);
    const session = await sessionOf(leaver.userId);

    expect(await deleteAccount(leaver.userId, { password: PASSWORD }, "198.51.100.25")).toEqual({ deletedWorkspaces: [leaver.actor.tenantSlug] });

    expect(await db().user.count({ where: { id: leaver.userId } })).toBe(0);
    expect(await db().tenant.count({ where: { id: leaver.actor.tenantId } })).toBe(0);
    expect(await db().membership.count({ where: { userId: leaver.userId } })).toBe(0);
    expect(await db().userSession.count({ where: { userId: leaver.userId } })).toBe(0);
    expect(await userForSessionToken(session)).toBeNull();
    expect((await db().apiToken.findMany({ where: { tenantId: owner.actor.tenantId } })).map((t) => t.id)).toEqual([ownersToken.view.id]);
    expect(await db().site.count({ where: { tenantId: owner.actor.tenantId } })).toBe(1);
    expect(await db().membership.count({ where: { tenantId: owner.actor.tenantId } })).toBe(1);
    expect(await db().auditEvent.findFirst({ where: { actorId: leaver.userId, action: "user.delete" } })).toMatchObject({
      outcome: "success",
      target: leaver.email,
      details: { deletedWorkspaces: [leaver.actor.tenantSlug] },
    });
  });

  it("refuses the last owner of a workspace with other members even without sites: it would be left with nobody to manage it", async () => {
    const { userId, actor } = await newAccount("host");
    const guest = await newAccount("guest");
    await db().membership.create({ data: { userId: guest.userId, tenantId: actor.tenantId, role: "member" } });
    const error = await failure(deleteAccount(userId, { password: PASSWORD }, null));
    expect([error.status, error.code]).toEqual([409, "last_owner"]);
    expect(await db().user.count({ where: { id: userId } })).toBe(1);
    expect(await db().membership.count({ where: { tenantId: actor.tenantId } })).toBe(2);
  });

  it("leaves a workspace that has another owner, even without sites", async () => {
    const { userId, actor } = await newAccount("co-host");
    const other = await newAccount("co-owner");
    await db().membership.create({ data: { userId: other.userId, tenantId: actor.tenantId, role: "owner" } });
    expect(await deleteAccount(userId, { password: PASSWORD }, null)).toEqual({ deletedWorkspaces: [] });
    expect(await db().tenant.count({ where: { id: actor.tenantId } })).toBe(1);
    expect(await db().membership.count({ where: { tenantId: actor.tenantId } })).toBe(1);
  });

  it("takes the password only under the sign-in limits", async () => {
    const { userId } = await newAccount("delete-guesser");
    for (let i = 0; i < 10; i += 1) expect((await failure(deleteAccount(userId, { password: `guess ${i}` }, "198.51.100.26"))).code).toBe("wrong_password");
    expect(await deleteAccount(userId, { password: PASSWORD }, "198.51.100.26").catch((e: unknown) => e)).toBeInstanceOf(RateLimitedError);
    expect(await db().user.count({ where: { id: userId } })).toBe(1);
  });
});
