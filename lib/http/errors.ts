import { NextResponse } from "next/server";
import { ZodError } from "zod";
import { RateLimitedError } from "@/lib/auth/rate-limit";
import { isUploadError } from "@/lib/uploads/errors";
import { isUploadLimitError } from "@/lib/uploads/limit-error";
import { fieldErrors } from "@/lib/validation";
import { componentLogger } from "@/lib/log";

const log = componentLogger("http");

/** An error whose message is safe and useful to show the person who caused it. */
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

export const notFound = (what = "Not found.") => new ApiError(404, "not_found", what);

export interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string>; entry?: string };
}

export function errorResponse(error: unknown, context: Record<string, unknown> = {}): NextResponse<ErrorBody> {
  if (error instanceof ApiError) {
    return NextResponse.json(
      { error: { code: error.code, message: error.message, ...(error.fields ? { fields: error.fields } : {}) } },
      { status: error.status },
    );
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
