// Errors of the dashboard's cluster access. Each one says what was being done
// to which object, so a log line or an error page is enough to act on.
import { ApiException } from "@kubernetes/client-node";

/** The dashboard has no cluster to talk to (or its configuration is unusable). */
export class ClusterNotConfiguredError extends Error {
  constructor(readonly reason: string) {
    super(`Kubernetes cluster not configured: ${reason}`);
    this.name = "ClusterNotConfiguredError";
  }
}

/** One field the API server refused, e.g. `spec.artifact.digest`. */
export interface FieldProblem {
  field: string;
  message: string;
}

interface StatusBody {
  message?: unknown;
  reason?: unknown;
  details?: { causes?: { field?: unknown; message?: unknown }[] };
}

function parseBody(body: unknown): StatusBody | undefined {
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return undefined;
    }
  }
  return body && typeof body === "object" ? (body as StatusBody) : undefined;
}

function statusCodeOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const e = err as { statusCode?: unknown; code?: unknown } | null | undefined;
  if (typeof e?.statusCode === "number") return e.statusCode;
  if (typeof e?.code === "number") return e.code;
  return undefined;
}

function causeText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

/**
 * A request to the API server failed. `statusCode` is the HTTP status when
 * the server answered (undefined for connection failures), `reason` the
 * Status reason (`NotFound`, `Invalid`, `Conflict`, …) and `fields` the
 * per-field causes of a validation failure.
 */
export class KubeRequestError extends Error {
  readonly statusCode: number | undefined;
  readonly reason: string | undefined;
  readonly fields: FieldProblem[];
  /** The API server's own explanation, or the transport error. */
  readonly detail: string;

  constructor(
    /** What was being done, e.g. `applying StaticSite pagoda-acme/blog`. */
    readonly operation: string,
    cause: unknown,
  ) {
    const statusCode = statusCodeOf(cause);
    const body = cause instanceof ApiException ? parseBody(cause.body) : undefined;
    const detail =
      typeof body?.message === "string"
        ? body.message
        : cause instanceof ApiException
          ? `HTTP ${cause.code}`
          : causeText(cause);
    // A 404 for the collection itself (not for one object) means the API is not served at all.
    const hint = statusCode === 404 && detail === "the server could not find the requested resource" ? " (is the StaticSite CRD installed? see deploy/crds)" : "";
    super(`${operation} failed${statusCode ? ` (HTTP ${statusCode})` : ""}: ${detail}${hint}`, { cause });
    this.name = "KubeRequestError";
    this.statusCode = statusCode;
    this.detail = detail;
    this.reason = typeof body?.reason === "string" ? body.reason : undefined;
    this.fields = (body?.details?.causes ?? [])
      .filter((c) => typeof c.message === "string")
      .map((c) => ({ field: typeof c.field === "string" ? c.field : "", message: c.message as string }));
  }

  get notFound(): boolean {
    return this.statusCode === 404;
  }

  /** The API server refused the object itself (schema, CEL rule, immutable field). */
  get invalid(): boolean {
    return this.statusCode === 422;
  }
}

/** Runs one API request and wraps its failure with what was being done. */
export async function kubeRequest<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new KubeRequestError(operation, err);
  }
}

/** The desired site is not something we could ever write (caught before any request). */
export class InvalidSiteError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`invalid site ${field}: ${message}`);
    this.name = "InvalidSiteError";
  }
}

/** The object is being deleted; writing to it now would be lost with it. */
export class TerminatingError extends Error {
  constructor(readonly what: string) {
    super(`${what} is being deleted; it can be written again once it is gone`);
    this.name = "TerminatingError";
  }
}
