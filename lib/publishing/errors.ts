// Errors of the dashboard's cluster access. Each one says what was being done
// to which object, so a log line or an error page is enough to act on.
import { apiErrorMessage, apiStatusCode, isTimeout, KubeApiError } from "@/lib/kube/request";
import { dashboardRequestTimeoutMs } from "./request-timeout";

/** The dashboard has no cluster to talk to (or its configuration is unusable). */
export class ClusterNotConfiguredError extends Error {
  constructor(readonly reason: string) {
    super(`Kubernetes cluster not configured: ${reason}`);
    this.name = "ClusterNotConfiguredError";
  }
}

/**
 * A request to the API server failed, timed out included (`timedOut`). The
 * error is lib/kube's, shared with the operator; the name is the dashboard's.
 */
export { KubeApiError as KubeRequestError, type FieldProblem } from "@/lib/kube/request";

/** Runs one API request and wraps its failure with what was being done. */
export async function kubeRequest<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new KubeApiError(withHint(operation, err), err, isTimeout(err) ? dashboardRequestTimeoutMs() : undefined);
  }
}

// A 404 for the collection itself (not for one object) means the API is not served at all.
function withHint(operation: string, err: unknown): string {
  return apiStatusCode(err) === 404 && apiErrorMessage(err) === "HTTP 404: the server could not find the requested resource"
    ? `${operation} (is the StaticSite CRD installed? see deploy/crds)`
    : operation;
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
