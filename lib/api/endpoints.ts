// Every route under app/api, as the API reference describes it. A unit test
// (endpoints.test.ts) fails when a route file or one of its methods is
// missing here, so the document cannot silently fall behind the routes.
import { z } from "zod";
import * as s from "./schemas";

export type Method = "get" | "post" | "patch" | "delete" | "head";
export type Scope = (typeof s.TOKEN_SCOPES)[number];

/**
 * Who may call an operation: `public` (no credentials), `session` (the
 * dashboard's sign-in cookie), `session-or-token` (that cookie, or an API
 * token with `scope`), `token` (an API token only), `signature` (a signed URL).
 */
export type Access = "public" | "session" | "session-or-token" | "token" | "signature";

/** Error statuses an operation can answer, all with the Error body (429 and 503 may carry Retry-After). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 408 | 409 | 413 | 415 | 422 | 429 | 503 | 507;

export interface Success {
  description: string;
  /** JSON body; omitted for an empty answer. */
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface Endpoint {
  method: Method;
  /** OpenAPI path, with `{param}`. */
  path: string;
  /** The route file, relative to the repository. */
  route: string;
  operationId: string;
  tag: "Sites" | "Deploys" | "Tokens" | "Account" | "Sign-in" | "Service";
  summary: string;
  description?: string;
  access: Access;
  scope?: Scope;
  /** State-changing under a session: the x-csrf-token header is required too. */
  csrf?: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: { contentType: string; schema?: z.ZodType; description: string; limit?: string };
  responses: Record<number, Success>;
  errors: Partial<Record<ErrorStatus, string>>;
}

const JSON_BODY_LIMIT = "16,384 bytes (413 `too_large` past it)";

const E = {
  400: "`invalid_json` (the body is not a JSON object) or `invalid_input` (a field breaks a rule; `fields` says which).",
  401: "`unauthenticated` (no session), or the API token is `token_malformed`, `token_unknown`, `token_revoked`, `token_expired` or `token_in_url` (sent in the URL: never accepted); the message says which.",
  403: "`token_scope` (the token lacks the scope), `token_not_allowed` (only a signed-in person may do this), `csrf` or `conflicting_cookies` (browser sessions), or a rule of the workspace (`forbidden`, `quota_*`).",
  404: "`not_found`: the workspace, site or deploy does not exist, or is not the caller's (the two look the same).",
  413: `\`too_large\`: the body is over ${JSON_BODY_LIMIT}.`,
  415: "`unsupported_media_type`: send `Content-Type: application/json`.",
  429: "`rate_limited`: too many requests for this token, IP or account; `Retry-After` says when to try again.",
} as const;

const readable = { 401: E[401], 403: E[403], 404: E[404], 429: E[429] } as const;

const siteStatusEvents = [
  "Server-sent events (`text/event-stream`) until the client disconnects; a `: ping` comment every 15 s keeps idle proxies open.",
  "- `phase`: a SitePhaseEvent, at once and whenever the phase changes;",
  "- `health`: a HealthEvent, when the dashboard's watch on the cluster goes down or comes back;",
  "- `deploys`: a DeploysEvent, when the deploy history changed.",
].join("\n");

export const endpoints: readonly Endpoint[] = [
  {
    method: "get",
    path: "/api/token",
    route: "app/api/token/route.ts",
    operationId: "getToken",
    tag: "Tokens",
    summary: "The calling API token: its name, scopes, expiry and workspace",
    description: "Lets a client check a token and learn which workspace it belongs to (`pagoda login` does).",
    access: "token",
    responses: { 200: { description: "The token.", schema: s.tokenResponseSchema } },
    errors: { 401: `${E[401]} \`token_missing\`: no Authorization header.`, 429: E[429] },
  },
  {
    method: "get",
    path: "/api/tenants/{tenant}/tokens",
    route: "app/api/tenants/[tenant]/tokens/route.ts",
    operationId: "listTokens",
    tag: "Tokens",
    summary: "The workspace's API tokens, newest first, revoked ones included",
    description: "Owners only, from a browser session. Never shows a token's secret.",
    access: "session",
    params: s.tenantParamsSchema,
    responses: { 200: { description: "The tokens.", schema: s.tokensResponseSchema } },
    errors: { 401: E[401], 403: `${E[403]} \`forbidden\`: owners only.`, 404: E[404] },
  },
  {
    method: "post",
    path: "/api/tenants/{tenant}/tokens",
    route: "app/api/tenants/[tenant]/tokens/route.ts",
    operationId: "createToken",
    tag: "Tokens",
    summary: "Create an API token; the answer is the only time it is shown",
    description: "Owners only, from a browser session (a token cannot create tokens). At most 50 active tokens per workspace.",
    access: "session",
    csrf: true,
    params: s.tenantParamsSchema,
    body: { contentType: "application/json", schema: s.createTokenBodySchema, description: "Name, scopes and an optional expiry.", limit: JSON_BODY_LIMIT },
    responses: { 201: { description: "The token, once.", schema: s.createdTokenResponseSchema, headers: { "Cache-Control": "`no-store`." } } },
    errors: {
      400: E[400],
      401: E[401],
      403: `${E[403]} \`quota_tokens\`: the workspace has 50 active tokens.`,
      404: E[404],
      413: E[413],
      415: E[415],
    },
  },
  {
    method: "delete",
    path: "/api/tenants/{tenant}/tokens/{token}",
    route: "app/api/tenants/[tenant]/tokens/[token]/route.ts",
    operationId: "revokeToken",
    tag: "Tokens",
    summary: "Revoke an API token: its next request is refused with 401",
    description: "Owners only, from a browser session. The token stays listed (and named in the deploy history); revoking twice changes nothing.",
    access: "session",
    csrf: true,
    params: s.tokenParamsSchema,
    responses: { 200: { description: "The revoked token.", schema: s.revokedTokenResponseSchema } },
    errors: { 401: E[401], 403: E[403], 404: E[404] },
  },
  {
    method: "get",
    path: "/api/tenants/{tenant}/sites",
    route: "app/api/tenants/[tenant]/sites/route.ts",
    operationId: "listSites",
    tag: "Sites",
    summary: "The workspace's sites, newest first",
    access: "session-or-token",
    scope: "read",
    params: s.tenantParamsSchema,
    responses: { 200: { description: "The sites.", schema: s.sitesResponseSchema } },
    errors: readable,
  },
  {
    method: "post",
    path: "/api/tenants/{tenant}/sites",
    route: "app/api/tenants/[tenant]/sites/route.ts",
    operationId: "createSite",
    tag: "Sites",
    summary: "Create a site",
    description: "Names are lower-case letters, digits and dashes, start with a letter, and have at most 40 characters; a few are reserved.",
    access: "session",
    csrf: true,
    params: s.tenantParamsSchema,
    body: { contentType: "application/json", schema: s.createSiteBodySchema, description: "The new site's name.", limit: JSON_BODY_LIMIT },
    responses: { 201: { description: "The site.", schema: s.siteResponseSchema } },
    errors: {
      400: E[400],
      401: E[401],
      403: `${E[403]} \`quota_sites\`: the workspace has as many sites as it may.`,
      404: E[404],
      409: "`name_taken`: the workspace has a site of that name, or its address is in use.",
      413: E[413],
      415: E[415],
    },
  },
  {
    method: "get",
    path: "/api/tenants/{tenant}/sites/{site}",
    route: "app/api/tenants/[tenant]/sites/[site]/route.ts",
    operationId: "getSite",
    tag: "Sites",
    summary: "One site, with its URL",
    access: "session-or-token",
    scope: "read",
    params: s.siteParamsSchema,
    responses: { 200: { description: "The site.", schema: s.siteResponseSchema } },
    errors: readable,
  },
  {
    method: "delete",
    path: "/api/tenants/{tenant}/sites/{site}",
    route: "app/api/tenants/[tenant]/sites/[site]/route.ts",
    operationId: "deleteSite",
    tag: "Sites",
    summary: "Delete a site: it stops serving and its history is removed",
    description: "Owners only, from a browser session; API tokens cannot delete.",
    access: "session",
    csrf: true,
    params: s.siteParamsSchema,
    responses: { 204: { description: "Deleted." } },
    errors: {
      401: E[401],
      403: `${E[403]} \`forbidden\`: only owners may delete.`,
      404: E[404],
      503: "`cluster_unavailable`: the cluster could not be reached; nothing was deleted.",
    },
  },
  {
    method: "get",
    path: "/api/tenants/{tenant}/sites/{site}/settings",
    route: "app/api/tenants/[tenant]/sites/[site]/settings/route.ts",
    operationId: "getSiteSettings",
    tag: "Sites",
    summary: "The site's serving settings, the 404 pages its deploy offers, and its deploy's rules",
    description:
      "`pages` are the .html files of the deploy the site is pointed at that can be the custom 404 page. `rules` are that deploy's `_redirects` and `_headers`, parsed, each rule with its line number (read-only: they change with a deploy).",
    access: "session-or-token",
    scope: "read",
    params: s.siteParamsSchema,
    responses: { 200: { description: "The settings.", schema: s.siteSettingsResponseSchema } },
    errors: readable,
  },
  {
    method: "patch",
    path: "/api/tenants/{tenant}/sites/{site}/settings",
    route: "app/api/tenants/[tenant]/sites/[site]/settings/route.ts",
    operationId: "updateSiteSettings",
    tag: "Sites",
    summary: "Turn the SPA fallback on or off, or choose the custom 404 page",
    description:
      "Give one field or both; what is left out stays as it is. A change is republished like a deploy (the new configuration rolls out with no downtime), shows in the site's history and is audit-logged; a request that changes nothing does none of that. Owners and members may change settings, as they may deploy.",
    access: "session-or-token",
    scope: "deploy",
    csrf: true,
    params: s.siteParamsSchema,
    body: { contentType: "application/json", schema: s.siteSettingsBodySchema, description: "The settings to change.", limit: JSON_BODY_LIMIT },
    responses: { 200: { description: "The settings after the change.", schema: s.siteSettingsResponseSchema } },
    errors: {
      400: `${E[400]} \`spa_with_not_found_page\`: the SPA fallback and a 404 page cannot both be on; \`not_found_page_missing\`: the page is not an .html file of the deploy the site is pointed at; \`no_deploy\`: the site has no deploy to choose a page from.`,
      401: E[401],
      403: E[403],
      404: E[404],
      413: E[413],
      415: E[415],
      429: E[429],
    },
  },
  {
    method: "get",
    path: "/api/tenants/{tenant}/sites/{site}/deploys",
    route: "app/api/tenants/[tenant]/sites/[site]/deploys/route.ts",
    operationId: "listDeploys",
    tag: "Deploys",
    summary: "The site's deploy history, newest first",
    access: "session-or-token",
    scope: "read",
    params: s.siteParamsSchema,
    responses: { 200: { description: "At most the 50 newest deploys.", schema: s.deploysResponseSchema } },
    errors: readable,
  },
  {
    method: "post",
    path: "/api/tenants/{tenant}/sites/{site}/deploys",
    route: "app/api/tenants/[tenant]/sites/[site]/deploys/route.ts",
    operationId: "uploadDeploy",
    tag: "Deploys",
    summary: "Upload a zip of the built site: it becomes a deploy and the site is pointed at it",
    description:
      "The body is the raw zip, streamed to disk as it arrives; set Content-Length. The zip needs an `index.html` at its top (one wrapping folder is removed). " +
      "A refused zip changes nothing: the site keeps serving what it served. The deploy then goes live by itself; follow it on the status stream.",
    access: "session-or-token",
    scope: "deploy",
    csrf: true,
    params: s.siteParamsSchema,
    query: s.deployUploadQuery,
    body: {
      contentType: "application/zip",
      description: "The zip itself (`application/x-zip-compressed` and `application/octet-stream` are taken too).",
      limit: "the workspace's archive quota (100 MiB by default)",
    },
    responses: { 201: { description: "The new deploy.", schema: s.deployResponseSchema } },
    errors: {
      400: "`empty_body` (no body), `invalid_input` (the `message` is too long or not one line) or `bad_request`.",
      401: E[401],
      403: `${E[403]} \`quota_*\`: the upload would exceed a limit of the workspace.`,
      404: E[404],
      408: "`idle_timeout` or `upload_too_slow`: the body stalled, or took longer than allowed.",
      413: "`too_large`, `too_many_files`, `uncompressed_too_large` or `file_too_large`: make the zip smaller.",
      415: "`unsupported_media_type` (send `application/zip`) or `not_a_zip`.",
      422: "The zip is not acceptable: `path_traversal`, `symlink`, `encrypted`, `no_index_html`, `ratio_too_high`, … `entry` names the file.",
      429: "`too_many_uploads` (this workspace's uploads in progress), `server_busy`, or `rate_limited`; `Retry-After` says when to try again.",
      507: "`insufficient_storage`: the server is short of disk space; try again later.",
    },
  },
  {
    method: "post",
    path: "/api/tenants/{tenant}/sites/{site}/deploys/{deploy}/promote",
    route: "app/api/tenants/[tenant]/sites/[site]/deploys/[deploy]/promote/route.ts",
    operationId: "promoteDeploy",
    tag: "Deploys",
    summary: "Point the site at this deploy (rollback is promoting an older one)",
    access: "session-or-token",
    scope: "deploy",
    csrf: true,
    params: s.deployParamsSchema,
    responses: { 200: { description: "The promoted deploy.", schema: s.deployResponseSchema } },
    errors: {
      ...readable,
      409: "`not_promotable` (the deploy has no finished artifact) or `artifact_missing` (its files are no longer stored).",
      503: "`cluster_unavailable`: the cluster could not be reached.",
    },
  },
  {
    method: "get",
    path: "/api/tenants/{tenant}/sites/{site}/status",
    route: "app/api/tenants/[tenant]/sites/[site]/status/route.ts",
    operationId: "siteStatus",
    tag: "Sites",
    summary: "The site's status as server-sent events",
    description: siteStatusEvents,
    access: "session-or-token",
    scope: "read",
    params: s.siteParamsSchema,
    responses: { 200: { description: "An event stream: events `phase`, `health` and `deploys`.", contentType: "text/event-stream" } },
    errors: readable,
  },
  {
    method: "get",
    path: "/api/tenants/{tenant}/events",
    route: "app/api/tenants/[tenant]/events/route.ts",
    operationId: "workspaceEvents",
    tag: "Sites",
    summary: "Changes of the workspace's sites as server-sent events",
    description: "`site` (a SiteChangedEvent) whenever the cluster reports a change of one of the workspace's sites; the site list reloads its badges on it.",
    access: "session-or-token",
    scope: "read",
    params: s.tenantParamsSchema,
    responses: { 200: { description: "An event stream: event `site`.", contentType: "text/event-stream" } },
    errors: readable,
  },
  {
    method: "post",
    path: "/api/signup",
    route: "app/api/signup/route.ts",
    operationId: "signUp",
    tag: "Account",
    summary: "Create an account and its workspace",
    description: "For the dashboard's sign-up page: needs next-auth's CSRF cookie and the `x-csrf-token` header.",
    access: "public",
    csrf: true,
    body: { contentType: "application/json", schema: s.signUpBodySchema, description: "Name, email and password.", limit: JSON_BODY_LIMIT },
    responses: { 201: { description: "Signed up.", schema: s.signUpResponseSchema } },
    errors: {
      400: E[400],
      403: "`csrf` or `conflicting_cookies`.",
      409: "`email_taken`.",
      413: E[413],
      415: E[415],
      429: "`rate_limited`: too many sign-ups from this IP address.",
    },
  },
  {
    method: "post",
    path: "/api/account/password",
    route: "app/api/account/password/route.ts",
    operationId: "changePassword",
    tag: "Account",
    summary: "Change the password; every other session ends",
    description: "Answers with a fresh session cookie for this browser.",
    access: "session",
    csrf: true,
    body: { contentType: "application/json", schema: s.changePasswordBodySchema, description: "The current and the new password.", limit: JSON_BODY_LIMIT },
    responses: { 200: { description: "Changed.", schema: s.signedInResponseSchema, headers: { "Set-Cookie": "The new session cookie." } } },
    errors: {
      400: E[400],
      401: E[401],
      403: "`csrf`, `conflicting_cookies` or `wrong_password`.",
      413: E[413],
      415: E[415],
      429: "`rate_limited`: too many attempts for this account or IP address.",
    },
  },
  {
    method: "post",
    path: "/api/account/sign-out-everywhere",
    route: "app/api/account/sign-out-everywhere/route.ts",
    operationId: "signOutEverywhere",
    tag: "Account",
    summary: "End every session of the account, this one included",
    access: "session",
    csrf: true,
    body: { contentType: "application/json", description: "None needed; a body is read under the limit all the same.", limit: JSON_BODY_LIMIT },
    responses: { 200: { description: "Signed out.", schema: s.signedOutResponseSchema } },
    errors: { 401: E[401], 403: "`csrf` or `conflicting_cookies`.", 413: E[413] },
  },
  {
    method: "post",
    path: "/api/account/password-reset",
    route: "app/api/account/password-reset/route.ts",
    operationId: "requestPasswordReset",
    tag: "Account",
    summary: "Email a single-use password-reset link",
    description:
      'For the dashboard\'s "Forgot password?" page: the same answer, status and timing for every well-formed address, known or not; only a known one gets an email (a link valid for 30 minutes). Limited per address and per IP address.',
    access: "public",
    csrf: true,
    body: { contentType: "application/json", schema: s.passwordResetRequestBodySchema, description: "The account's email address.", limit: JSON_BODY_LIMIT },
    responses: { 202: { description: "Accepted; an email follows if an account has the address.", schema: s.resetRequestedResponseSchema } },
    errors: {
      400: E[400],
      403: "`csrf` or `conflicting_cookies`.",
      413: E[413],
      415: E[415],
      429: "`rate_limited`: too many reset requests for this address or from this IP address.",
      503: "`mail_disabled`: this server has no mail set up.",
    },
  },
  {
    method: "post",
    path: "/api/account/password-reset/complete",
    route: "app/api/account/password-reset/complete/route.ts",
    operationId: "resetPassword",
    tag: "Account",
    summary: "Set a new password with a reset link; every session ends",
    description: "Spends the link; clears this browser's session cookie, so the person signs in with the new password.",
    access: "public",
    csrf: true,
    body: { contentType: "application/json", schema: s.passwordResetBodySchema, description: "The link's token and the new password.", limit: JSON_BODY_LIMIT },
    responses: { 200: { description: "Password changed.", schema: s.passwordResetResponseSchema } },
    errors: {
      400: `${E[400]} Or the link cannot be used: \`link_invalid\`, \`link_expired\` or \`link_used\`.`,
      403: "`csrf` or `conflicting_cookies`.",
      413: E[413],
      415: E[415],
    },
  },
  {
    method: "post",
    path: "/api/account/email-verification",
    route: "app/api/account/email-verification/route.ts",
    operationId: "verifyEmail",
    tag: "Account",
    summary: "Confirm the account's email address with the emailed link",
    access: "public",
    csrf: true,
    body: { contentType: "application/json", schema: s.emailVerificationBodySchema, description: "The link's token.", limit: JSON_BODY_LIMIT },
    responses: { 200: { description: "Confirmed.", schema: s.emailVerifiedResponseSchema } },
    errors: {
      400: `${E[400]} Or the link cannot be used: \`link_invalid\`, \`link_expired\` or \`link_used\`.`,
      403: "`csrf` or `conflicting_cookies`.",
      413: E[413],
      415: E[415],
    },
  },
  {
    method: "post",
    path: "/api/account/email-verification/resend",
    route: "app/api/account/email-verification/resend/route.ts",
    operationId: "resendVerificationEmail",
    tag: "Account",
    summary: "Send a new confirmation link to the account's address",
    access: "session",
    csrf: true,
    body: { contentType: "application/json", description: "None needed; a body is read under the limit all the same.", limit: JSON_BODY_LIMIT },
    responses: { 202: { description: "Sent.", schema: s.verificationSentResponseSchema } },
    errors: {
      400: "`already_verified`.",
      401: E[401],
      403: "`csrf`, `conflicting_cookies` or `token_not_allowed`.",
      413: E[413],
      429: "`rate_limited`: too many confirmation emails for this account.",
      503: "`mail_unavailable` (the mail server refused or could not be reached; try later) or `mail_disabled`.",
    },
  },
  ...(["get", "post"] as const).map((method): Endpoint => ({
    method,
    path: "/api/auth/{nextauth}",
    route: "app/api/auth/[...nextauth]/route.ts",
    operationId: method === "get" ? "nextAuthGet" : "nextAuthPost",
    tag: "Sign-in",
    summary: method === "get" ? "next-auth: session, csrf, providers, signin, error" : "next-auth: callback/credentials (sign in), signout",
    description:
      "next-auth's own endpoints, for the dashboard's pages; their answers are next-auth's. Only the listed actions exist (others: 404). " +
      "Sign-in takes `application/x-www-form-urlencoded` with each field once, and is limited per IP address and per email.",
    access: "public",
    params: s.nextAuthParamsSchema,
    responses: { 200: { description: "next-auth's answer." } },
    errors:
      method === "get"
        ? { 404: "`not_found`: no such sign-in endpoint." }
        : {
            400: "`duplicate_field`: a form field sent twice.",
            404: "`not_found`: no such sign-in endpoint.",
            413: E[413],
            415: "`unsupported_media_type`: send the form as `application/x-www-form-urlencoded`.",
            429: "`rate_limited`; the body also carries next-auth's `url`, and `Retry-After` says when to try again.",
          },
  })),
  ...(["get", "head"] as const).map((method): Endpoint => ({
    method,
    path: "/api/artifacts/{digest}",
    route: "app/api/artifacts/[digest]/route.ts",
    operationId: method === "get" ? "getArtifact" : "headArtifact",
    tag: "Service",
    summary: "A deploy's packaged files, for the site's pods",
    description:
      "Fetched by the pods that serve a site, from the signed URL the dashboard writes into the StaticSite. Immutable: the digest names the bytes. " +
      "A bad or missing signature, and a digest no deploy names, are all the same 404.",
    access: "signature",
    params: s.artifactParamsSchema,
    query: s.artifactQuerySchema,
    responses: {
      200: { description: "The artifact (a gzipped tar).", contentType: "application/gzip", headers: { ETag: "The digest, quoted." } },
      304: { description: "Not modified (If-None-Match matched)." },
    },
    errors: { 404: "`not_found`." },
  })),
  {
    method: "get",
    path: "/api/healthz",
    route: "app/api/healthz/route.ts",
    operationId: "healthz",
    tag: "Service",
    summary: "Liveness: the process serves requests",
    access: "public",
    responses: { 200: { description: "Alive.", schema: s.healthResponseSchema } },
    errors: {},
  },
  {
    method: "get",
    path: "/api/readyz",
    route: "app/api/readyz/route.ts",
    operationId: "readyz",
    tag: "Service",
    summary: "Readiness: the dashboard reaches its database",
    access: "public",
    responses: {
      200: { description: "Ready.", schema: s.healthResponseSchema },
      503: { description: "Not ready; a probe answer, not a refusal.", schema: s.notReadyResponseSchema },
    },
    errors: {},
  },
  {
    method: "get",
    path: "/api/openapi.json",
    route: "app/api/openapi.json/route.ts",
    operationId: "openapi",
    tag: "Service",
    summary: "This document",
    access: "public",
    responses: { 200: { description: "The OpenAPI 3.1 document." } },
    errors: {},
  },
];
