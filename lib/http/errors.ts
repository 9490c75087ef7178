import { NextResponse } from "next/server";
import { ZodError } from "zod";
import { RateLimitedError } from "@/lib/auth/rate-limit";
import { isUploadError } from "@/lib/uploads/errors";
import { isUploadLimitError } from "@/lib/uploads/limit-error";
import { fieldErrors } from "@/lib/validation";
import { ConflictError, DomainError, ForbiddenError, NotFoundError, QuotaError, UnauthenticatedError, UnavailableError, ValidationError } from "@/lib/errors";
import { componentLogger } from "@/lib/log";
import type { ErrorBody } from "@/lib/api/schemas";

const log = componentLogger("http");

/**
 * A refusal that only makes sense in HTTP (a body that is not JSON, a
 * missing CSRF token), for lib/http and routes. Domain code throws the
 * errors of lib/errors.ts instead.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The status each kind of domain error is answered with (a subclass answers like its kind). */
const DOMAIN_STATUS: [new (...args: never[]) => DomainError, number][] = [
  [NotFoundError, 404],
  [UnauthenticatedError, 401],
  [ForbiddenError, 403],
  [QuotaError, 403],
  [ValidationError, 400],
  [ConflictError, 409],
  [UnavailableError, 503],
];

/** The HTTP status of a refusal, or undefined for an error that is not one (a bug or an outage: 500). */
export function refusalStatus(error: unknown): number | undefined {
  if (error instanceof ApiError) return error.status;
  return DOMAIN_STATUS.find(([kind]) => error instanceof kind)?.[1];
}

/** The one shape of every refusal (lib/api/schemas.ts, documented in the OpenAPI document). */
export type { ErrorBody };

export function errorResponse(error: unknown, context: Record<string, unknown> = {}): NextResponse<ErrorBody> {
  const status = refusalStatus(error);
  if (status !== undefined && (error instanceof ApiError || error instanceof DomainError)) {
    return NextResponse.json({ error: { code: error.code, message: error.message, ...(error.fields ? { fields: error.fields } : {}) } }, { status });
  }
  if (isUploadError(error)) {
    return NextResponse.json(
      { error: { code: error.code, message: error.message, ...(error.entry === undefined ? {} : { entry: error.entry }) } },
      { status: error.status },
    );
  }
  if (isUploadLimitError(error)) {
    return NextResponse.json(
      { error: error.toJSON() },
      { status: error.status, headers: error.retryAfterSeconds === undefined ? {} : { "Retry-After": String(error.retryAfterSeconds) } },
    );
  }
  if (error instanceof ZodError) {
    const fields = fieldErrors(error);
    const message = Object.values(fields)[0] ?? "The request is not valid.";
    return NextResponse.json({ error: { code: "invalid_input", message, fields } }, { status: 400 });
  }
  if (error instanceof RateLimitedError) {
    return NextResponse.json(
      { error: { code: "rate_limited", message: error.message } },
      { status: 429, headers: { "Retry-After": String(error.retryAfterSeconds) } },
    );
  }
  log.error({ err: error, ...context }, "request failed");
  return NextResponse.json({ error: { code: "internal", message: "Something went wrong on our side. Please try again." } }, { status: 500 });
}
