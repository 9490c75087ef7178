// The JSON API's contract: what each route reads (path parameters, query,
// body) and answers, as zod schemas. Routes parse with these, the OpenAPI
// document (openapi.ts) is generated from them, and the CLI can import them:
// so this folder stays pure (zod and the input rules of lib/validation.ts,
// nothing of the server).
/// <reference types="zod-openapi" />
import { z } from "zod";
import {
  createSiteSchema,
  DEPLOY_MESSAGE_MAX,
  deployMessageSchema,
  emailSchema,
  PASSWORD_MAX,
  PASSWORD_MIN,
  signUpSchema,
  siteNameSchema,
  tokenNameSchema,
} from "../validation";
import { SITE_NAME_MAX_LENGTH, SITE_NAME_PATTERN } from "../staticsite/site-name";
import { SERVING_MODES } from "../staticsite/serving";

// ---- The one error shape -------------------------------------------------

export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().meta({ description: "Stable and machine-readable, e.g. `name_taken`, `path_traversal`, `rate_limited`.", example: "not_found" }),
      message: z.string().meta({ description: "One sentence for a person: what is wrong and what to do.", example: "Site not found." }),
      entry: z.string().optional().meta({ description: "For a refused zip: the path inside it that caused the refusal." }),
      fields: z.record(z.string(), z.string()).optional().meta({ description: "For invalid input: one message per field (dotted path), to show next to it." }),
    }),
  })
  .meta({ id: "Error", description: "Every refusal, from every route, has this shape." });

export type ErrorBody = z.infer<typeof errorBodySchema>;

// ---- Path parameters -----------------------------------------------------

const tenant = z.string().meta({ description: "The workspace's slug, as in its dashboard URL.", example: "alice-k3x9q2" });
const site = z.string().meta({ description: "The site's name.", example: "portfolio" });
const deploy = z.string().meta({ description: "The deploy's id, from the deploy list.", example: "cmf0q3v1k0000a8b2c3d4e5f6" });

export const tenantParamsSchema = z.object({ tenant });
export const siteParamsSchema = z.object({ tenant, site });
export const deployParamsSchema = z.object({ tenant, site, deploy });
export const artifactParamsSchema = z.object({
  digest: z.string().meta({ description: "The artifact's sha256, 64 hex digits." }),
});
export const artifactQuerySchema = z.object({
  sig: z.string().optional().meta({ description: "The HMAC the dashboard wrote into the StaticSite; without a valid one the answer is 404." }),
});
export const nextAuthParamsSchema = z.object({
  nextauth: z.array(z.string()).meta({ description: "next-auth's action and provider, e.g. `csrf` or `callback/credentials`." }),
});

// ---- Request bodies and queries ------------------------------------------

// The bodies below are parsed by the domain functions the routes call, with
// these very objects; what the document says about them is attached to the
// same instances (zod's global registry, which the generator reads) rather
// than to copies, so the parsed and the documented schema cannot drift.
export const signUpBodySchema = signUpSchema;
z.globalRegistry.add(signUpSchema, {
  description: `\`password\`: ${PASSWORD_MIN} to ${PASSWORD_MAX} characters, not a common one, not too repetitive, not containing the email's name. \`name\`: at most 80 characters, no control characters.`,
});

export const createSiteBodySchema = createSiteSchema;
z.globalRegistry.add(siteNameSchema, {
  description:
    "Lower-case letters, digits and dashes, starting with a letter; a few names (such as `www`, `api`) are reserved. Surrounding spaces are dropped.",
  override: { type: "string", pattern: SITE_NAME_PATTERN, maxLength: SITE_NAME_MAX_LENGTH },
  example: "portfolio",
});

/** `POST …/deploys`: the body is the zip, so the deploy's message travels in the URL. */
export const deployUploadQuery = z.object({
  promote: z
    .enum(["true", "false"], { error: "promote is true or false." })
    .optional()
    .meta({ description: "`false` stores the deploy without pointing the site at it: it answers at its `previewUrl` until it is promoted. Default `true`." }),
  message: deployMessageSchema.optional().meta({
    description: `What this deploy is, shown in the history: at most ${DEPLOY_MESSAGE_MAX} characters, one line (newlines and other control characters are refused with 400). Blank means none.`,
    // A query value is a string or absent: the null the parser also takes is internal.
    override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
      delete jsonSchema.anyOf;
      Object.assign(jsonSchema, { type: "string", maxLength: DEPLOY_MESSAGE_MAX });
    },
    example: "Fix the pricing table",
  }),
});

export const changePasswordBodySchema = z.object({
  currentPassword: z
    .string({ error: "Enter your current password." })
    .min(1, { error: "Enter your current password." })
    .max(PASSWORD_MAX, { error: "Your current password is not right." }),
  newPassword: z.string({ error: "Enter a new password." }),
});

export const passwordResetRequestBodySchema = z.object({ email: emailSchema });

const emailLinkToken = z
  .string({ error: "The link has no token. Open the link from the email again." })
  .meta({ description: "The `token` parameter of the link in the email." });

export const passwordResetBodySchema = z.object({
  token: emailLinkToken,
  password: z
    .string({ error: "Enter a new password." })
    .meta({ description: `The new password: ${PASSWORD_MIN} to ${PASSWORD_MAX} characters, the sign-up rules.` }),
});

export const emailVerificationBodySchema = z.object({ token: emailLinkToken });

export const TOKEN_SCOPES = ["read", "deploy"] as const;
/** Longest expiry offered; a token that must live longer can be replaced. */
export const TOKEN_MAX_LIFETIME_DAYS = 366;

export const createTokenBodySchema = z.object({
  name: tokenNameSchema,
  scopes: z
    .array(z.enum(TOKEN_SCOPES, { error: 'Scopes are "read" and "deploy".' }), { error: "Choose at least one scope." })
    .min(1, { error: "Choose at least one scope." })
    .max(TOKEN_SCOPES.length, { error: 'Scopes are "read" and "deploy".' })
    .refine((scopes) => new Set(scopes).size === scopes.length, { error: "Each scope can be given once." }),
  expiresAt: z
    .union([z.iso.datetime({ offset: true, error: "Give the expiry as an ISO date and time, or leave it empty." }), z.null()])
    .optional()
    .transform((value) => (value ? new Date(value) : null))
    .refine((date) => date === null || date.getTime() > Date.now(), { error: "The expiry must be in the future." })
    .refine((date) => date === null || date.getTime() <= Date.now() + TOKEN_MAX_LIFETIME_DAYS * 86_400_000, {
      error: `A token can last at most ${TOKEN_MAX_LIFETIME_DAYS} days.`,
    })
    .meta({ description: `When the token stops working; at most ${TOKEN_MAX_LIFETIME_DAYS} days ahead. Omitted or null: never.` }),
});

export const tokenParamsSchema = z.object({
  tenant,
  token: z.string().meta({ description: "The token's id (`id` in the token list), not the token itself." }),
});

/** The StaticSite's own limit and characters for `notFoundPage` (lib/staticsite/schema.ts; a unit test keeps them equal). */
export const NOT_FOUND_PAGE_MAX = 256;
export const NOT_FOUND_PAGE_CHARS = /^\/[A-Za-z0-9._~/-]*$/;

const notFoundPage = z
  .string({ error: "Give the 404 page as a path such as /404.html, or null for none." })
  .max(NOT_FOUND_PAGE_MAX, { error: `The 404 page's path can have at most ${NOT_FOUND_PAGE_MAX} characters.` })
  .startsWith("/", { error: "The 404 page's path starts with /, e.g. /404.html." })
  .refine((path) => !path.includes(".."), { error: "The 404 page's path cannot contain “..”." })
  .endsWith(".html", { error: "The 404 page must be an .html file." })
  .regex(NOT_FOUND_PAGE_CHARS, { error: "The 404 page's path can hold only letters, digits and . _ ~ / -." });

export const siteSettingsBodySchema = z
  .strictObject(
    {
      spa: z
        .boolean({ error: "spa is true or false." })
        .optional()
        .meta({ description: "SPA fallback: paths that match no file serve /index.html (status 200), for client-side routing." }),
      notFoundPage: z.union([notFoundPage, z.null()], { error: "Give the 404 page as a path such as /404.html, or null for none." }).optional().meta({
        description:
          "The custom 404 page: an .html file of the deploy the site is pointed at, served with status 404 for paths that match no file. `null` removes it. Cannot be combined with `spa`.",
        example: "/404.html",
      }),
      serving: z.enum(SERVING_MODES, { error: "serving is dedicated or shared." }).optional().meta({
        description:
          "dedicated: the site runs its own nginx pods. shared: it is served by the platform's shared pool, with no pods of its own. Switching keeps the site serving throughout.",
      }),
    },
    { error: "Only spa, notFoundPage and serving can be changed." },
  )
  .refine((body) => body.spa !== undefined || body.notFoundPage !== undefined || body.serving !== undefined, {
    error: "Give spa, notFoundPage, serving, or more than one of them.",
  });

// ---- Response bodies ------------------------------------------------------

const isoTime = z.iso.datetime();
const digest = z.string().meta({ description: "`sha256:` and 64 hex digits.", example: `sha256:${"ab".repeat(32)}` });

export const siteSchema = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    url: z.string().meta({ description: "Where the site is served." }),
    createdAt: isoTime,
    deployCount: z.int().nonnegative(),
    targetDigest: digest.nullable().meta({ description: "The artifact of the deploy the site is pointed at; null before the first deploy." }),
  })
  .meta({ id: "Site" });

export const DEPLOY_STATES = ["processing", "ready", "failed", "live", "superseded"] as const;
export const DEPLOY_SOURCES = ["browser", "cli", "api"] as const;

export const deploySchema = z
  .strictObject({
    id: z.string(),
    digest: digest.nullable(),
    shortDigest: z.string().nullable().meta({ description: "The first 12 hex digits of the digest, for display." }),
    sizeBytes: z.int().nonnegative().nullable(),
    fileCount: z.int().nonnegative().nullable(),
    state: z.enum(DEPLOY_STATES).meta({
      description:
        "`processing` while the zip is checked; `ready` once stored; `live` once the cluster serves it; `failed` when its rollout failed (see `error`); `superseded` when a later deploy went live.",
    }),
    error: z.string().nullable(),
    message: z.string().nullable().meta({ description: "What the person deploying said about it (one line, at most 500 characters)." }),
    source: z.enum(DEPLOY_SOURCES).meta({ description: "How it was sent: the dashboard, the pagoda CLI, or another API client." }),
    createdBy: z
      .discriminatedUnion("kind", [
        z.strictObject({ kind: z.literal("user"), name: z.string() }),
        z.strictObject({ kind: z.literal("token"), name: z.string() }),
      ])
      .nullable()
      .meta({ description: "The person, or the API token by the name it had then; null when that account is gone." }),
    createdAt: isoTime,
    finishedAt: isoTime.nullable(),
    promotedAt: isoTime.nullable(),
    liveAt: isoTime.nullable(),
    isTarget: z.boolean().meta({ description: "The site is pointed at this deploy." }),
    previewUrl: z.string().nullable().meta({
      description:
        "Where this deploy answers whether or not it is promoted, served by the shared pool and marked noindex: `<first 12 hex digits of its digest>--<site host>`. Null while it is processing, once it is older than the site's 20 newest stored deploys, or when the site's label leaves no room.",
      example: "https://3f2a9c1b04de--blog-alice-k3x9q2.sites.example.net/",
    }),
  })
  .meta({ id: "Deploy" });

export const redirectRuleViewSchema = z.strictObject({
  line: z.int().positive(),
  from: z.string().meta({ description: "The path pattern as written." }),
  query: z.array(z.string()).meta({ description: "Query conditions as written, `name=:placeholder` or `name=value`." }),
  to: z.string(),
  status: z.int(),
  force: z.boolean().meta({ description: "Written with `!`: applies even where a file exists." }),
});

export const headerRuleViewSchema = z.strictObject({
  line: z.int().positive(),
  path: z.string().meta({ description: "The path pattern as written." }),
  headers: z.array(
    z.strictObject({
      line: z.int().positive(),
      name: z.string(),
      value: z.string().nullable().meta({ description: "Null for `! Name`, which removes the header." }),
    }),
  ),
});

const ruleFileView = <T extends z.ZodType>(rule: T, file: string) =>
  z
    .strictObject({
      rules: z.array(rule),
      errors: z.array(z.string()).meta({ description: "Messages of lines that do not parse; empty for anything checked at upload." }),
    })
    .nullable()
    .meta({ description: `The deploy's ${file}, parsed; null when it has none.` });

export const siteSettingsSchema = z
  .strictObject({
    spa: z.boolean().meta({ description: "SPA fallback: paths that match no file serve /index.html." }),
    notFoundPage: z.string().nullable().meta({ description: "The custom 404 page, or null for the platform's." }),
    serving: z.enum(SERVING_MODES).meta({ description: "dedicated (its own pods) or shared (the platform's pool)." }),
    deploy: z
      .strictObject({ id: z.string(), shortDigest: z.string().nullable() })
      .nullable()
      .meta({ description: "The deploy the site is pointed at, whose files and rules these are; null before the first deploy." }),
    pages: z.array(z.string()).meta({ description: "The .html files of that deploy that can be the 404 page, sorted." }),
    rules: z.strictObject({ redirects: ruleFileView(redirectRuleViewSchema, "_redirects"), headers: ruleFileView(headerRuleViewSchema, "_headers") }),
  })
  .meta({ id: "SiteSettings" });

export const siteSettingsResponseSchema = z.strictObject({ settings: siteSettingsSchema });
export type SiteSettingsResponse = z.infer<typeof siteSettingsResponseSchema>;
export type SiteSettingsBody = z.infer<typeof siteSettingsBodySchema>;

export const tokenInfoSchema = z
  .strictObject({
    name: z.string(),
    scopes: z.array(z.enum(TOKEN_SCOPES)),
    expiresAt: isoTime.nullable(),
    workspace: z.strictObject({ slug: z.string(), name: z.string() }),
  })
  .meta({ id: "TokenInfo" });

export const apiTokenSchema = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    hint: z.string().meta({ description: "`pgd_<public id>_…`: enough to tell tokens apart and to match a leaked one; never the secret." }),
    scopes: z.array(z.enum(TOKEN_SCOPES)),
    expiresAt: isoTime.nullable(),
    revokedAt: isoTime.nullable(),
    lastUsedAt: isoTime.nullable(),
    lastUsedIp: z.string().nullable(),
    createdAt: isoTime,
    createdBy: z.string().nullable().meta({ description: "The name of the owner who created it." }),
  })
  .meta({ id: "ApiToken" });

export const tokensResponseSchema = z.strictObject({ tokens: z.array(apiTokenSchema) });
export const createdTokenResponseSchema = z.strictObject({
  token: z.string().meta({ description: "The token itself, `pgd_…`. Shown this once: only its hash is stored." }),
  apiToken: apiTokenSchema,
});
export const revokedTokenResponseSchema = z.strictObject({ apiToken: apiTokenSchema });

export const sitesResponseSchema = z.strictObject({ sites: z.array(siteSchema) });
export const siteResponseSchema = z.strictObject({ site: siteSchema });
export const deploysResponseSchema = z.strictObject({ deploys: z.array(deploySchema).meta({ description: "Newest first, at most 50." }) });
export const deployResponseSchema = z.strictObject({ deploy: deploySchema });
export const tokenResponseSchema = z.strictObject({ token: tokenInfoSchema });
export const signUpResponseSchema = z.strictObject({ tenant: z.string().meta({ description: "The new workspace's slug." }) });
export const signedInResponseSchema = z.strictObject({ signedIn: z.literal(true) });
export const signedOutResponseSchema = z.strictObject({ signedOut: z.literal(true) });
export const resetRequestedResponseSchema = z.strictObject({
  message: z.string().meta({ description: "The same sentence for every address, known or not." }),
});
export const passwordResetResponseSchema = z.strictObject({ reset: z.literal(true) });
export const emailVerifiedResponseSchema = z.strictObject({ verified: z.literal(true) });
export const oidcLinkBodySchema = z.object({
  pending: z
    .string({ error: "The request to link is missing. Sign in with single sign-on again." })
    .min(1, { error: "The request to link is missing. Sign in with single sign-on again." })
    .max(4096, { error: "The request to link is not valid. Sign in with single sign-on again." })
    .meta({ description: "The sealed pending link from the `pending` parameter of /account/link." }),
});
export const oidcLinkedResponseSchema = z.strictObject({
  linked: z.literal(true),
  tenant: z.string().nullable().meta({ description: "A workspace of the account to go to." }),
});
export type OidcLinkedResponse = z.infer<typeof oidcLinkedResponseSchema>;
export const verificationSentResponseSchema = z.strictObject({ sent: z.literal(true) });
export const healthResponseSchema = z.strictObject({ ok: z.literal(true) });
export const notReadyResponseSchema = z.strictObject({ ok: z.literal(false), reason: z.string() });

export type SitesResponse = z.infer<typeof sitesResponseSchema>;
export type SiteResponse = z.infer<typeof siteResponseSchema>;
export type DeploysResponse = z.infer<typeof deploysResponseSchema>;
export type DeployResponse = z.infer<typeof deployResponseSchema>;
export type TokenResponse = z.infer<typeof tokenResponseSchema>;
export type SignUpResponse = z.infer<typeof signUpResponseSchema>;
export type ResetRequestedResponse = z.infer<typeof resetRequestedResponseSchema>;
export type PasswordResetResponse = z.infer<typeof passwordResetResponseSchema>;
export type EmailVerifiedResponse = z.infer<typeof emailVerifiedResponseSchema>;
export type VerificationSentResponse = z.infer<typeof verificationSentResponseSchema>;

// ---- Server-sent events ---------------------------------------------------

export const SITE_PHASES = ["Pending", "Deploying", "Live", "Failed", "Offline", "NoCluster"] as const;

export const sitePhaseEventSchema = z
  .object({
    phase: z.enum(SITE_PHASES),
    message: z.string().meta({ description: "One sentence for a person; for Failed and Deploying it is the operator's own." }),
    reason: z.string().optional().meta({ description: "Machine-readable cause, e.g. the operator's condition reason." }),
    readyReplicas: z.int().nonnegative(),
    replicas: z.int().nonnegative(),
    currentDigest: digest.nullable().meta({ description: "The artifact serving right now, which may be an older deploy during a rollout." }),
    url: z.string().nullable().optional(),
    healthy: z.boolean().meta({ description: "False while the dashboard cannot vouch for what it knows of the cluster." }),
  })
  .meta({ id: "SitePhaseEvent", description: "`event: phase`: the site's phase, at once and whenever it changes." });

export const healthEventSchema = z
  .object({ healthy: z.boolean() })
  .meta({ id: "HealthEvent", description: "`event: health`: the dashboard's watch on the cluster went down or came back." });

export const deploysEventSchema = z
  .object({ siteId: z.string() })
  .meta({ id: "DeploysEvent", description: "`event: deploys`: the site's deploy history changed; read it again." });

export const siteChangedEventSchema = z
  .object({ name: z.string() })
  .meta({ id: "SiteChangedEvent", description: "`event: site`: the cluster reported a change of this site of the workspace." });
