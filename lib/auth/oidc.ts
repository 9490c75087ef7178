import "server-only";
import type { OAuthConfig } from "next-auth/providers/oauth";
import { Prisma } from "@/lib/generated/prisma/client";
import { getConfig, type Config, type OidcDomainRule } from "@/lib/config";
import { db } from "@/lib/db";
import { recordAudit } from "@/lib/audit";
import { issuePendingLink } from "@/lib/auth/oidc-link";
import type { OidcRefusal } from "@/lib/auth/oidc-messages";
import { componentLogger } from "@/lib/log";
import { tenantSlugFromEmail } from "@/lib/tenancy/slug";
import { emailSchema, NAME_MAX } from "@/lib/validation";

const log = componentLogger("oidc");

/** next-auth's id of the provider: part of /api/auth/signin/oidc and /api/auth/callback/oidc. */
export const OIDC_PROVIDER_ID = "oidc";

/** What the provider tells us about the person, from the ID token and the userinfo endpoint. */
export interface OidcProfile {
  sub: string;
  email?: unknown;
  email_verified?: unknown;
  name?: unknown;
  preferred_username?: unknown;
}

/** The `user` next-auth hands our callbacks after an OIDC sign-in: the provider's account, not ours yet. */
interface OidcUser {
  id: string;
  email: string | null;
  name: string | null;
}

export function oidcEnabled(
  config: Config = getConfig(),
): config is Config & { PAGODA_OIDC_ISSUER: string; PAGODA_OIDC_CLIENT_ID: string; PAGODA_OIDC_CLIENT_SECRET: string } {
  return config.PAGODA_OIDC_ISSUER !== undefined && config.PAGODA_OIDC_CLIENT_ID !== undefined && config.PAGODA_OIDC_CLIENT_SECRET !== undefined;
}

/** The issuer as identities are stored: the configured URL without a trailing slash. */
export function oidcIssuer(config: Config = getConfig()): string {
  return (config.PAGODA_OIDC_ISSUER ?? "").replace(/\/+$/, "");
}

/**
 * The provider for next-auth, or null when single sign-on is off. The code
 * flow with PKCE, state and nonce all checked by next-auth (openid-client),
 * and the ID token's signature and issuer checked against the provider's
 * discovery document.
 */
export function oidcProvider(config: Config = getConfig()): OAuthConfig<OidcProfile> | null {
  if (!oidcEnabled(config)) return null;
  const issuer = oidcIssuer(config);
  return {
    id: OIDC_PROVIDER_ID,
    name: config.PAGODA_OIDC_NAME,
    type: "oauth",
    wellKnown: `${issuer}/.well-known/openid-configuration`,
    issuer,
    clientId: config.PAGODA_OIDC_CLIENT_ID,
    clientSecret: config.PAGODA_OIDC_CLIENT_SECRET,
    authorization: { params: { scope: "openid email profile" } },
    idToken: true,
    checks: ["pkce", "state", "nonce"],
    client: { token_endpoint_auth_method: "client_secret_basic", id_token_signed_response_alg: "RS256" },
    // The ID token (signature, issuer, audience, nonce) says who; the userinfo endpoint, called with its access token, says the current email and whether it is verified.
    userinfo: {
      async request({ client, tokens }) {
        // next-auth hands over openid-client's TokenSet, already checked; its types only say "parameters".
        const set = tokens as unknown as Parameters<typeof client.userinfo>[0] & { claims(): { sub: string } };
        const claims = set.claims();
        const info = await client.userinfo(set);
        if (info.sub !== claims.sub) throw new Error("the userinfo answer is about another subject than the ID token");
        return { ...info, sub: claims.sub };
      },
    },
    profile(profile): OidcUser {
      return {
        id: profile.sub,
        email: typeof profile.email === "string" ? profile.email : null,
        name: typeof profile.name === "string" ? profile.name : typeof profile.preferred_username === "string" ? profile.preferred_username : null,
      };
    },
  };
}

/** A display name Pagoda can store: one line, at most NAME_MAX, never empty. */
export function displayNameFrom(name: string | null, email: string): string {
  const clean = (name ?? "")
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return Array.from(clean || email.split("@")[0] || "SSO user")
    .slice(0, NAME_MAX)
    .join("");
}

/** The rule for an address, by its domain exactly (a rule for example.com does not cover mail.example.com). */
export function ruleFor(email: string, rules: readonly OidcDomainRule[]): OidcDomainRule | undefined {
  const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
  return rules.find((rule) => rule.domain === domain);
}

/** What the sign-in callback does next: let next-auth issue the session, or send the browser elsewhere. */
export type OidcDecision = { kind: "allow"; userId: string } | { kind: "redirect"; path: string };

function refusal(code: OidcRefusal): OidcDecision {
  return { kind: "redirect", path: `/signin?error=${code}` };
}

function isUniqueViolation(error: unknown): error is Prisma.PrismaClientKnownRequestError {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
}

/**
 * Decides an OIDC sign-in. Only a provider-verified address counts; the
 * identity is (issuer, subject). A known identity signs in as its user; an
 * unknown one whose address has no account gets a new account (joining a
 * workspace by the domain rules, else a personal one); an unknown one whose
 * address belongs to an existing account is sent to prove that account
 * (app/account/link) and nothing is written. Refusals write nothing either,
 * except their audit event.
 */
export async function decideOidcSignIn(profile: OidcProfile, config: Config = getConfig()): Promise<OidcDecision> {
  const issuer = oidcIssuer(config);
  const subject = profile.sub;
  const rawEmail = typeof profile.email === "string" ? profile.email : "";
  const audit = (outcome: "success" | "failure", actorId: string | null, details: Record<string, unknown>) =>
    recordAudit({ action: "user.signin", outcome, actorId, target: rawEmail || subject, details: { method: "oidc", issuer, subject, ...details } });

  const known = await db().oidcIdentity.findUnique({ where: { issuer_subject: { issuer, subject } }, select: { userId: true } });
  if (profile.email_verified !== true) {
    await audit("failure", known?.userId ?? null, { reason: "email_unverified" });
    return refusal("OidcEmailUnverified");
  }
  const email = emailSchema.safeParse(rawEmail);
  if (!email.success) {
    await audit("failure", known?.userId ?? null, { reason: "no_email" });
    return refusal("OidcNoEmail");
  }
  if (known) {
    await audit("success", known.userId, {});
    return { kind: "allow", userId: known.userId };
  }

  const existing = await db().user.findUnique({ where: { email: email.data }, select: { id: true, passwordHash: true } });
  if (existing) {
    if (existing.passwordHash === null) {
      // Its only way in is another identity; there is no password that could prove it.
      await audit("failure", existing.id, { reason: "account_conflict" });
      return refusal("OidcAccountConflict");
    }
    await audit("failure", existing.id, { reason: "link_required" });
    const pending = await issuePendingLink({ issuer, subject, email: email.data, userId: existing.id });
    return { kind: "redirect", path: `/account/link?pending=${encodeURIComponent(pending)}` };
  }

  try {
    const userId = await createOidcAccount(
      { issuer, subject, email: email.data, name: displayNameFrom(typeof profile.name === "string" ? profile.name : null, email.data) },
      config,
    );
    await audit("success", userId, { created: true });
    return { kind: "allow", userId };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // A second sign-in of the same person, or a sign-up with the address, won the race: decide again on what is there now.
    log.info({ issuer, subject, target: error.meta?.target }, "oidc sign-in raced another; deciding again");
    const again = await db().oidcIdentity.findUnique({ where: { issuer_subject: { issuer, subject } }, select: { userId: true } });
    if (again) return { kind: "allow", userId: again.userId };
    return decideOidcSignIn(profile, config);
  }
}

interface NewOidcAccount {
  issuer: string;
  subject: string;
  email: string;
  name: string;
}

/**
 * The user, their identity and their first workspace in one transaction.
 * A domain rule whose workspace does not exist is skipped (and logged), so a
 * typo in the configuration gives a personal workspace rather than no way in.
 */
async function createOidcAccount(account: NewOidcAccount, config: Config): Promise<string> {
  const rule = ruleFor(account.email, config.PAGODA_OIDC_DOMAIN_RULES);
  const ruleTenant = rule ? await db().tenant.findUnique({ where: { slug: rule.workspace }, select: { id: true } }) : null;
  if (rule && !ruleTenant) log.warn({ domain: rule.domain, workspace: rule.workspace }, "oidc domain rule skipped: its workspace does not exist");

  for (let attempt = 0; attempt < 3; attempt += 1) {
    const personalSlug = tenantSlugFromEmail(account.email);
    try {
      return await db().$transaction(async (tx) => {
        const user = await tx.user.create({ data: { email: account.email, name: account.name, passwordHash: null, emailVerifiedAt: new Date() } });
        await tx.oidcIdentity.create({ data: { userId: user.id, issuer: account.issuer, subject: account.subject, email: account.email } });
        let tenantId: string;
        if (rule && ruleTenant) {
          await tx.membership.create({ data: { userId: user.id, tenantId: ruleTenant.id, role: rule.role } });
          tenantId = ruleTenant.id;
        } else {
          const tenant = await tx.tenant.create({ data: { slug: personalSlug, name: `${account.name}'s sites` } });
          await tx.membership.create({ data: { userId: user.id, tenantId: tenant.id, role: "owner" } });
          tenantId = tenant.id;
        }
        await recordAudit(
          {
            action: "user.signup",
            outcome: "success",
            actorId: user.id,
            tenantId,
            target: account.email,
            details: {
              method: "oidc",
              issuer: account.issuer,
              subject: account.subject,
              ...(rule && ruleTenant ? { domainRule: rule.domain, role: rule.role } : {}),
            },
          },
          tx,
        );
        return user.id;
      });
    } catch (error) {
      if (isUniqueViolation(error) && JSON.stringify(error.meta ?? {}).includes("slug")) continue;
      throw error;
    }
  }
  throw new Error("could not allocate a unique tenant slug after 3 attempts");
}

/** The user row a decided OIDC sign-in stands for, with what the session claims need. */
export async function oidcSessionUser(
  subject: string,
  config: Config = getConfig(),
): Promise<{ id: string; email: string; name: string; sessionVersion: number }> {
  const identity = await db().oidcIdentity.findUnique({
    where: { issuer_subject: { issuer: oidcIssuer(config), subject } },
    select: { user: { select: { id: true, email: true, name: true, sessionVersion: true } } },
  });
  // decideOidcSignIn allowed this very sign-in only with the identity in place; its absence now is a fault.
  if (!identity) throw new Error(`oidc identity of subject ${subject} vanished between the sign-in decision and the session`);
  return identity.user;
}
