// The errors domain code throws when a request cannot be done as asked. Each
// kind says what went wrong, not how to answer it: lib/http/errors.ts is the
// one place that turns a kind into an HTTP status and a JSON body, and pages
// turn a NotFoundError into their 404 page (lib/auth/page.ts). The code and
// the message are part of the API: clients and tests read both.

/** A refusal whose message is safe and useful to show the person who caused it. */
export abstract class DomainError extends Error {
  constructor(
    /** Stable and machine-readable, e.g. `name_taken`. */
    readonly code: string,
    message: string,
    /** Per form field, the message to show next to it. */
    readonly fields?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** What was asked for does not exist, or is not the caller's to see (the two look the same). */
export class NotFoundError extends DomainError {
  constructor(message = "Not found.", code = "not_found") {
    super(code, message);
  }
}

/** The caller is not signed in, or their session ended. */
export class UnauthenticatedError extends DomainError {
  constructor(message = "You are not signed in, or your session has expired. Sign in again.", code = "unauthenticated") {
    super(code, message);
  }
}

/** The caller may see this but not do it. */
export class ForbiddenError extends DomainError {}

/** The request is well-formed but its values break a rule. */
export class ValidationError extends DomainError {
  constructor(code: string, message: string, fields?: Record<string, string>) {
    super(code, message, fields);
  }
}

/** The request clashes with what exists: a taken name, a deploy in the wrong state. */
export class ConflictError extends DomainError {}

/** One of the tenant's limits is reached. */
export class QuotaError extends DomainError {}

/** Something this needs is not reachable right now; the same request may succeed later. */
export class UnavailableError extends DomainError {}

/** The Kubernetes cluster could not be reached, and nothing was changed. */
export class ClusterUnavailableError extends UnavailableError {
  constructor(message: string) {
    super("cluster_unavailable", message);
  }
}
