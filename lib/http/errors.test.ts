import { describe, expect, it } from "vitest";
import { z } from "zod";
import { errorBodySchema } from "@/lib/api/schemas";
import { RateLimitedError } from "@/lib/auth/rate-limit";
import { ApiError, errorResponse } from "@/lib/http/errors";
import { UploadError } from "@/lib/uploads/errors";
import { idleTimeout, insufficientStorage, serverBusy, tenantBusy } from "@/lib/uploads/limit-error";
import { createSiteSchema } from "@/lib/validation";
import {
  ClusterUnavailableError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  QuotaError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from "@/lib/errors";

async function answer(error: unknown) {
  const response = errorResponse(error);
  return { status: response.status, body: (await response.json()) as unknown };
}

describe("errorResponse", () => {
  // Each refusal the domain makes, with the status and body the API has always answered it with.
  it.each([
    [new NotFoundError("Site not found."), 404, { code: "not_found", message: "Site not found." }],
    [new UnauthenticatedError(), 401, { code: "unauthenticated", message: "You are not signed in, or your session has expired. Sign in again." }],
    [
      new ForbiddenError("forbidden", "Only owners of this workspace can do this."),
      403,
      { code: "forbidden", message: "Only owners of this workspace can do this." },
    ],
    [
      new ForbiddenError("wrong_password", "Your current password is not right.", { currentPassword: "Your current password is not right." }),
      403,
      { code: "wrong_password", message: "Your current password is not right.", fields: { currentPassword: "Your current password is not right." } },
    ],
    [new QuotaError("quota_sites", "Delete one first."), 403, { code: "quota_sites", message: "Delete one first." }],
    [
      new ValidationError("invalid_input", "Too short.", { newPassword: "Too short." }),
      400,
      { code: "invalid_input", message: "Too short.", fields: { newPassword: "Too short." } },
    ],
    [new ConflictError("name_taken", "Taken.", { name: "Taken." }), 409, { code: "name_taken", message: "Taken.", fields: { name: "Taken." } }],
    [new ConflictError("not_promotable", "No artifact."), 409, { code: "not_promotable", message: "No artifact." }],
    [new UnavailableError("artifact_gone", "Upload it again."), 503, { code: "artifact_gone", message: "Upload it again." }],
    [new ClusterUnavailableError("Try again in a minute."), 503, { code: "cluster_unavailable", message: "Try again in a minute." }],
    [new ApiError(415, "unsupported_media_type", "Send JSON."), 415, { code: "unsupported_media_type", message: "Send JSON." }],
  ])("answers %o with its status and body", async (error, status, body) => {
    expect(await answer(error)).toEqual({ status, body: { error: body } });
  });

  it("answers anything else with 500 and a message that gives nothing away", async () => {
    expect(await answer(new Error("connection refused to 10.0.0.3"))).toEqual({
      status: 500,
      body: { error: { code: "internal", message: "Something went wrong on our side. Please try again." } },
    });
  });
});

describe("the one error shape", () => {
  const zodError = createSiteSchema.safeParse({ name: "Not A Name" }).error!;
  // Every kind of refusal errorResponse knows, and the fall-through 500.
  const kinds: [string, unknown, number, string | null][] = [
    ["a domain error with fields", new ConflictError("name_taken", "Taken.", { name: "Taken." }), 409, null],
    [
      "an HTTP refusal: body over the limit",
      new ApiError(413, "too_large", "The request body is larger than the 16,384 bytes this endpoint accepts."),
      413,
      null,
    ],
    ["an HTTP refusal: wrong media type", new ApiError(415, "unsupported_media_type", "Send the request body as application/json."), 415, null],
    ["an HTTP refusal: CSRF", new ApiError(403, "csrf", "This request is missing its security token."), 403, null],
    ["invalid input (zod)", zodError, 400, null],
    ["a refused zip naming its entry", new UploadError("path_traversal", "The file “../x” climbs out of the site.", { entry: "../x" }), 422, null],
    ["a refused zip without an entry", new UploadError("not_a_zip", "This is not a zip file."), 415, null],
    ["a zip too large", new UploadError("too_large", "The zip is larger than 100 MiB."), 413, null],
    ["too many uploads of a workspace", tenantBusy(2, 5), 429, "5"],
    ["a busy server", serverBusy(3), 429, "3"],
    ["a stalled upload", idleTimeout(30_000, 1024), 408, null],
    ["a full disk", insufficientStorage(), 507, null],
    ["a rate limit", new RateLimitedError(42, "This API token has made more than 600 requests in a minute."), 429, "42"],
    ["anything else", new Error("boom"), 500, null],
  ];

  it.each(kinds)("%s answers {error:{code,message,entry?,fields?}} and nothing more", async (_name, error, status, retryAfter) => {
    const response = errorResponse(error);
    expect(response.status).toBe(status);
    expect(response.headers.get("retry-after")).toBe(retryAfter);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body: unknown = await response.json();
    // strictObject: an extra key anywhere fails as surely as a missing one.
    expect(z.prettifyError(errorBodySchema.safeParse(body).error ?? new z.ZodError([]))).toBe("");
  });

  it("keeps a refused zip's entry and an invalid field's message", async () => {
    const entry = (await errorResponse(new UploadError("symlink", "A link.", { entry: "docs/link" })).json()) as { error: { entry?: string } };
    expect(entry.error.entry).toBe("docs/link");
    const fields = (await errorResponse(zodError).json()) as { error: { fields?: Record<string, string> } };
    expect(Object.keys(fields.error.fields ?? {})).toEqual(["name"]);
  });
});
