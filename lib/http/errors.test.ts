import { describe, expect, it } from "vitest";
import { ApiError, errorResponse } from "@/lib/http/errors";
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
