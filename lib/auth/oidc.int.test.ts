import { randomUUID } from "node:crypto";
import { decode, encode } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { confirmOidcLink } from "@/lib/auth/oidc-link";
import { userForSessionToken } from "@/lib/auth/session";
import { SESSION_IDLE_SECONDS, sessionCookie } from "@/lib/auth/session-token";
import { changePassword, deleteAccount } from "@/lib/accounts/account";
import { requestEmailChange } from "@/lib/accounts/email-change";
import { db } from "@/lib/db";
import { ConflictError, ForbiddenError, UnauthenticatedError, ValidationError } from "@/lib/errors";
import { workspacesOf } from "@/lib/tenancy/access";
import { newAccount } from "@/tests/support/accounts";
import { startOidcProvider, type TestOidcProvider } from "@/tests/support/oidc-provider";
import { CookieJar, finishOidcSignIn, oidcSignIn, passwordSignIn, signInAtProvider, startOidcSignIn } from "@/tests/support/oidc-flow";

const PASSWORD = "a long and varied passphrase";
const run = randomUUID().slice(0, 6);
const acme = `acme-${run}`;
const acmeDomain = `acme-${run}.example`;
const ghostDomain = `ghost-${run}.example`;
let provider: TestOidcProvider;

const dashboard = (path: string) => new URL(path, process.env.NEXTAUTH_URL).toString();
const sessionOf = (jar: CookieJar) => jar.cookies.get(sessionCookie().name);

beforeAll(async () => {
  provider = await startOidcProvider({ redirectUri: dashboard("/api/auth/callback/oidc") });
  process.env.PAGODA_OIDC_ISSUER = provider.issuer;
  process.env.PAGODA_OIDC_CLIENT_ID = provider.clientId;
  process.env.PAGODA_OIDC_CLIENT_SECRET = provider.clientSecret;
  process.env.PAGODA_OIDC_NAME = "Acme ID";
  process.env.PAGODA_OIDC_DOMAIN_RULES = `${acmeDomain}=${acme}:member,${ghostDomain}=ghost-${run}:owner`;
  await db().tenant.create({ data: { slug: acme, name: "Acme" } });
});

afterAll(async () => {
  await provider?.stop();
});

/** A person at the provider with a fresh subject. */
function person(email: string, verified = true) {
  const identity = { sub: `sub-${randomUUID()}`, email, email_verified: verified, name: "Ada Lovelace" };
  provider.define(identity);
  return identity;
}

async function identityCount(sub: string) {
  return db().oidcIdentity.count({ where: { subject: sub } });
}

describe("single sign-on through a real OpenID provider", () => {
  it("makes a verified new address an account with its own workspace, and signs in as it again next time", async () => {
    const ada = person(`ada-${run}@example.com`);
    const first = await oidcSignIn(ada.sub);
    expect(first.answer.location).toBe(dashboard("/"));
    const user = await userForSessionToken(sessionOf(first.jar));
    expect(user).toMatchObject({ email: ada.email, name: "Ada Lovelace", emailVerified: true });
    const row = await db().user.findUniqueOrThrow({ where: { id: user!.id }, include: { oidcIdentities: true } });
    expect(row.passwordHash).toBeNull();
    expect(row.oidcIdentities).toMatchObject([{ issuer: provider.issuer, subject: ada.sub, email: ada.email }]);
    expect(await workspacesOf(user!.id)).toMatchObject([{ role: "owner" }]);
    // The session carries the same claims as a password sign-in, so every session check applies.
    const claims = await decode({ token: sessionOf(first.jar)!, secret: process.env.NEXTAUTH_SECRET! });
    expect(claims).toMatchObject({ sub: user!.id, sessionVersion: 0 });
    expect(typeof claims?.signedInAt).toBe("number");

    const again = await oidcSignIn(ada.sub);
    expect((await userForSessionToken(sessionOf(again.jar)))?.id).toBe(user!.id);
    expect(await db().user.count({ where: { email: ada.email } })).toBe(1);
    const signins = await db().auditEvent.findMany({ where: { action: "user.signin", actorId: user!.id } });
    expect(signins.map((e) => [e.outcome, (e.details as { method?: string }).method])).toEqual([
      ["success", "oidc"],
      ["success", "oidc"],
    ]);
  });

  it("refuses an address the provider has not verified, and creates nothing", async () => {
    const eve = person(`eve-${run}@example.com`, false);
    const { jar, answer } = await oidcSignIn(eve.sub);
    expect(answer.location).toBe(dashboard("/signin?error=OidcEmailUnverified"));
    expect(sessionOf(jar)).toBeUndefined();
    expect(await db().user.count({ where: { email: eve.email } })).toBe(0);
    expect(await identityCount(eve.sub)).toBe(0);
    const audit = await db().auditEvent.findFirst({ where: { action: "user.signin", target: eve.email } });
    expect(audit).toMatchObject({ outcome: "failure", details: { method: "oidc", reason: "email_unverified" } });
  });

  it("never signs in to an existing password account by its address alone: it asks for proof and writes nothing", async () => {
    const local = await newAccount("local");
    const twin = person(local.email);
    const { jar, answer } = await oidcSignIn(twin.sub);
    expect(answer.location?.startsWith(dashboard("/account/link?pending="))).toBe(true);
    expect(sessionOf(jar)).toBeUndefined();
    expect(await identityCount(twin.sub)).toBe(0);
    expect(await db().user.count({ where: { email: local.email } })).toBe(1);
  });

  it("links the identity after a password sign-in made after the request, and then signs in with it", async () => {
    const local = await newAccount("linker");
    const twin = person(local.email);
    const { answer } = await oidcSignIn(twin.sub);
    const pending = new URL(answer.location!).searchParams.get("pending")!;

    // Without a session, or with the wrong account's, nothing is linked.
    await expect(confirmOidcLink(pending, undefined, null)).rejects.toBeInstanceOf(UnauthenticatedError);
    const other = await newAccount("other");
    const otherJar = new CookieJar();
    await passwordSignIn(otherJar, other.email, PASSWORD);
    await expect(confirmOidcLink(pending, sessionOf(otherJar), null)).rejects.toMatchObject({ code: "other_account" });
    // A tampered pending link is refused.
    await expect(confirmOidcLink(`${pending.slice(0, -4)}AAAA`, sessionOf(otherJar), null)).rejects.toBeInstanceOf(ValidationError);
    expect(await identityCount(twin.sub)).toBe(0);

    const jar = new CookieJar();
    expect((await passwordSignIn(jar, local.email, PASSWORD)).status).toBe(200);
    expect(await confirmOidcLink(pending, sessionOf(jar), "192.0.2.9")).toEqual({ tenant: local.actor.tenantSlug });
    expect(await db().oidcIdentity.findMany({ where: { subject: twin.sub } })).toMatchObject([{ userId: local.userId, issuer: provider.issuer }]);
    const audit = await db().auditEvent.findFirst({ where: { action: "oidc.linked", actorId: local.userId, outcome: "success" } });
    expect(audit).toMatchObject({ target: local.email, ip: "192.0.2.9", details: { subject: twin.sub } });

    const next = await oidcSignIn(twin.sub);
    expect((await userForSessionToken(sessionOf(next.jar)))?.id).toBe(local.userId);
    // The password still works, and a second identity at the same provider is refused.
    const impostor = person(local.email);
    const second = new URL((await oidcSignIn(impostor.sub)).answer.location!).searchParams.get("pending")!;
    const fresh = new CookieJar();
    await passwordSignIn(fresh, local.email, PASSWORD);
    await expect(confirmOidcLink(second, sessionOf(fresh), null)).rejects.toBeInstanceOf(ConflictError);
  });

  it("does not take a session from before the request to link as proof", async () => {
    const local = await newAccount("stale");
    // A session of the account signed in an hour ago, still valid: say, left open on a shared computer.
    const user = await db().user.findUniqueOrThrow({ where: { id: local.userId } });
    const earlier = await encode({
      token: { sub: user.id, name: user.name, email: user.email, sessionVersion: user.sessionVersion, signedInAt: Math.floor(Date.now() / 1000) - 3600 },
      secret: process.env.NEXTAUTH_SECRET!,
      maxAge: SESSION_IDLE_SECONDS,
    });
    expect(await userForSessionToken(earlier)).toMatchObject({ id: local.userId });
    const twin = person(local.email);
    const pending = new URL((await oidcSignIn(twin.sub)).answer.location!).searchParams.get("pending")!;
    const error = await confirmOidcLink(pending, earlier, null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).code).toBe("proof_required");
    expect(await identityCount(twin.sub)).toBe(0);
  });

  it("lets a domain rule put a new account into its workspace with its role, and skips a rule whose workspace is missing", async () => {
    const grace = person(`grace-${run}@${acmeDomain}`);
    const { jar, answer } = await oidcSignIn(grace.sub);
    expect(answer.location).toBe(dashboard("/"));
    const user = await userForSessionToken(sessionOf(jar));
    expect(await workspacesOf(user!.id)).toEqual([{ slug: acme, name: "Acme", role: "member" }]);

    const ghost = person(`casper-${run}@${ghostDomain}`);
    const landed = await oidcSignIn(ghost.sub);
    const ghostUser = await userForSessionToken(sessionOf(landed.jar));
    const [only, ...rest] = await workspacesOf(ghostUser!.id);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ role: "owner" });
    expect(only!.slug).not.toBe(`ghost-${run}`);
  });

  it("refuses an answer whose state cookie is another sign-in's", async () => {
    const ada = person(`state-${run}@example.com`);
    const other = new CookieJar();
    await startOidcSignIn(other);
    const jar = new CookieJar();
    const callback = await signInAtProvider(new CookieJar(), await startOidcSignIn(jar), ada.sub);
    jar.cookies.set("next-auth.state", other.cookies.get("next-auth.state")!);
    const answer = await finishOidcSignIn(jar, callback);
    expect(answer.location).toBe(dashboard("/api/auth/error?error=OAuthCallback"));
    expect(sessionOf(jar)).toBeUndefined();
    expect(await db().user.count({ where: { email: ada.email } })).toBe(0);
  });

  it("refuses an ID token whose nonce is not this sign-in's", async () => {
    const ada = person(`nonce-${run}@example.com`);
    const other = new CookieJar();
    await startOidcSignIn(other);
    const jar = new CookieJar();
    const callback = await signInAtProvider(new CookieJar(), await startOidcSignIn(jar), ada.sub);
    jar.cookies.set("next-auth.nonce", other.cookies.get("next-auth.nonce")!);
    const answer = await finishOidcSignIn(jar, callback);
    expect(answer.location).toBe(dashboard("/api/auth/error?error=OAuthCallback"));
    expect(sessionOf(jar)).toBeUndefined();
    expect(await db().user.count({ where: { email: ada.email } })).toBe(0);
  });

  it("refuses an answer meant for another browser: a victim handed the attacker's code signs in as nobody", async () => {
    const attacker = person(`mallory-${run}@example.com`);
    const attackerCallback = await signInAtProvider(new CookieJar(), await startOidcSignIn(new CookieJar()), attacker.sub);
    const victim = new CookieJar();
    await startOidcSignIn(victim);
    const answer = await finishOidcSignIn(victim, attackerCallback);
    expect(answer.location).toBe(dashboard("/api/auth/error?error=OAuthCallback"));
    expect(sessionOf(victim)).toBeUndefined();
  });

  it("refuses a password change for an account that has no password", async () => {
    const sso = person(`nopass-${run}@example.com`);
    const { jar } = await oidcSignIn(sso.sub);
    const user = await userForSessionToken(sessionOf(jar));
    const error = await changePassword(user!.id, { currentPassword: "anything at all", newPassword: "another quite different phrase" }, null).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "no_password" });
    // And the password form refuses it like a wrong password.
    expect((await passwordSignIn(new CookieJar(), sso.email, "anything at all")).status).toBe(401);
  });

  it("refuses an email change and deleting the account with no_password, not as a wrong password, for an account that has none", async () => {
    const sso = person(`nopass-again-${run}@example.com`);
    const { jar } = await oidcSignIn(sso.sub);
    const user = (await userForSessionToken(sessionOf(jar)))!;
    const change = await requestEmailChange(user.id, { newEmail: `moved-${run}@example.com`, password: "anything at all" }, null).catch((e: unknown) => e);
    const deletion = await deleteAccount(user.id, { password: "anything at all" }, null).catch((e: unknown) => e);
    expect([change, deletion]).toMatchObject([{ code: "no_password" }, { code: "no_password" }]);
    expect(await db().user.findUnique({ where: { id: user.id }, select: { email: true } })).toEqual({ email: sso.email });
  });
});
