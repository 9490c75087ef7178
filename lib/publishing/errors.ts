// The dashboard's own errors about the cluster. A failed request to the API
// server is lib/kube's KubeApiError (what was being done, the status code,
// the reason, the refused fields); these are what only the dashboard knows.

/** The dashboard has no cluster to talk to (or its configuration is unusable). */

import "server-only";
export class ClusterNotConfiguredError extends Error {
  constructor(readonly reason: string) {
    super(`Kubernetes cluster not configured: ${reason}`);
    this.name = "ClusterNotConfiguredError";
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
