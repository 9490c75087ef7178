// The OpenAPI 3.1 document of the JSON API, generated from the zod schemas
// the routes parse with (schemas.ts) and the endpoint list (endpoints.ts).
// Pure and deterministic: the same sources give byte-identical JSON.
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponsesObject } from "zod-openapi";
import { endpoints, type Endpoint, type ErrorStatus } from "./endpoints";
import * as s from "./schemas";

export const API_VERSION = "1";

const ERROR_TITLES: Record<ErrorStatus, string> = {
  400: "Bad request",
  401: "Not authenticated",
  403: "Forbidden",
  404: "Not found",
  408: "Request timeout",
  409: "Conflict",
  413: "Too large",
  415: "Unsupported media type",
  422: "Unacceptable zip",
  429: "Too many requests",
  503: "Unavailable",
  507: "Insufficient storage",
};

const retryAfter = { schema: { type: "integer" as const, minimum: 0 }, description: "Seconds to wait before trying again." };

function security(endpoint: Endpoint): ZodOpenApiOperationObject["security"] {
  const session: Record<string, string[]> = endpoint.csrf ? { sessionCookie: [], csrfHeader: [] } : { sessionCookie: [] };
  switch (endpoint.access) {
    case "session":
      return [session];
    case "session-or-token":
      return [{ bearerToken: endpoint.scope ? [endpoint.scope] : [] }, session];
    case "token":
      return [{ bearerToken: [] }];
    case "public":
      return endpoint.csrf ? [{ csrfHeader: [] }] : [];
    case "signature":
      return [];
  }
}

function responses(endpoint: Endpoint): ZodOpenApiResponsesObject {
  const out: ZodOpenApiResponsesObject = {};
  for (const [status, success] of Object.entries(endpoint.responses)) {
    out[status as `${1 | 2 | 3 | 4 | 5}${string}`] = {
      description: success.description,
      ...(success.headers
        ? { headers: Object.fromEntries(Object.entries(success.headers).map(([name, description]) => [name, { description, schema: { type: "string" } }])) }
        : {}),
      ...(success.schema
        ? { content: { [success.contentType ?? "application/json"]: { schema: success.schema } } }
        : success.contentType
          ? { content: { [success.contentType]: { schema: { type: "string" } } } }
          : {}),
    };
  }
  for (const [status, description] of Object.entries(endpoint.errors)) {
    const code = Number(status) as ErrorStatus;
    out[status as `${1 | 2 | 3 | 4 | 5}${string}`] = {
      description: `${ERROR_TITLES[code]}: ${description}`,
      ...(code === 429 || code === 503 ? { headers: { "Retry-After": retryAfter } } : {}),
      content: { "application/json": { schema: s.errorBodySchema } },
    };
  }
  out.default = {
    description: "`internal` (500): a fault on our side; the message gives nothing away, the server's log has the details.",
    content: { "application/json": { schema: s.errorBodySchema } },
  };
  return out;
}

function operation(endpoint: Endpoint): ZodOpenApiOperationObject {
  const scopeNote = endpoint.scope ? ` API tokens need the \`${endpoint.scope}\` scope.` : "";
  const csrfNote = endpoint.csrf && endpoint.access !== "public" ? " Browser sessions also send `x-csrf-token`; bearer requests do not." : "";
  return {
    operationId: endpoint.operationId,
    tags: [endpoint.tag],
    summary: endpoint.summary,
    description: `${endpoint.description ?? ""}${scopeNote}${csrfNote}`.trim() || undefined,
    ...(endpoint.params || endpoint.query
      ? { requestParams: { ...(endpoint.params ? { path: endpoint.params } : {}), ...(endpoint.query ? { query: endpoint.query } : {}) } }
      : {}),
    ...(endpoint.body
      ? {
          requestBody: {
            required: endpoint.body.schema !== undefined || endpoint.body.contentType !== "application/json",
            description: endpoint.body.limit ? `${endpoint.body.description} At most ${endpoint.body.limit}.` : endpoint.body.description,
            content: { [endpoint.body.contentType]: { schema: endpoint.body.schema ?? { type: "string", contentEncoding: "binary" } } },
          },
        }
      : {}),
    security: security(endpoint),
    responses: responses(endpoint),
  };
}

/** The whole document. Built anew on each call; callers that serve it keep one. */
export function openApiDocument(): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = {};
  for (const endpoint of endpoints) {
    paths[endpoint.path] = { ...paths[endpoint.path], [endpoint.method]: operation(endpoint) };
  }
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: "Pagoda API",
      version: API_VERSION,
      description:
        "Sites, deploys and their status in a Pagoda workspace. docs/api.md in the repository is the reference with examples. " +
        'Every refusal has the body `{ "error": { "code", "message", "entry"?, "fields"? } }`.',
    },
    tags: [
      { name: "Sites" },
      { name: "Deploys" },
      { name: "Tokens" },
      { name: "Members", description: "Roles, members and invitations of a workspace (owners), and accepting an invitation." },
      { name: "Audit", description: "What was done in a workspace, for its owners." },
      { name: "Account", description: "For the dashboard's own pages." },
      { name: "Sign-in", description: "next-auth's endpoints, for the dashboard's own pages." },
      { name: "Service", description: "Probes, artifacts for the site pods, and this document." },
    ],
    paths,
    components: {
      securitySchemes: {
        bearerToken: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "pgd_…",
          description:
            "An API token of one workspace, created by an owner on the workspace's settings page, with the scopes `read` and/or `deploy`. " +
            "Never in a query string. A request with this header is judged by the token alone: cookies are ignored and no CSRF header is needed.",
        },
        sessionCookie: {
          type: "apiKey",
          in: "cookie",
          name: "next-auth.session-token",
          description: "The dashboard's sign-in cookie (`__Secure-next-auth.session-token` when the dashboard is served over https).",
        },
        csrfHeader: {
          type: "apiKey",
          in: "header",
          name: "x-csrf-token",
          description: "With a session: state-changing requests echo next-auth's CSRF token (from `/api/auth/csrf`), checked against its cookie.",
        },
      },
      schemas: {
        SitePhaseEvent: s.sitePhaseEventSchema,
        HealthEvent: s.healthEventSchema,
        DeploysEvent: s.deploysEventSchema,
        SiteChangedEvent: s.siteChangedEventSchema,
      },
    },
  });
}
