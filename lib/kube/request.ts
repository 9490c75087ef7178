// One way to make requests to a Kubernetes API server, shared by the operator
// and the dashboard: every request gets its own deadline, an optional hook
// sees it (for metrics), and a failure becomes a KubeApiError that says what
// was being done and why it failed. Generic on purpose: nothing here knows
// what the objects mean. Watches do not come through here: they are meant
// to stay open and have their own reconnect logic.
import {
  ApiException,
  createConfiguration,
  ServerConfiguration,
  setHeaderMiddleware,
  type Configuration,
  type KubeConfig,
  type Middleware,
} from "@kubernetes/client-node";

/**
 * Gives every request its own deadline, started just before it is sent and
 * covering the response body too. The client sets none, so a connection that
 * stops answering (a half-open socket, a stuck proxy) would otherwise hold the
 * caller for good. Aborting (rather than racing a timer) also closes the socket.
 */
export function requestTimeout(timeoutMs: number): Middleware {
  return {
    pre: async (context) => {
      context.setSignal(AbortSignal.timeout(timeoutMs));
      return context;
    },
    post: async (response) => response,
  };
}

/** True for the error a request ends with when its deadline passed. */
export function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.name === "TimeoutError";
}

/** HTTP status of a failed API call, if it got that far. */
export function apiStatusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const e = err as { code?: unknown; statusCode?: unknown } | null | undefined;
  if (typeof e?.statusCode === "number") return e.statusCode;
  if (typeof e?.code === "number") return e.code;
  return undefined;
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

function statusBody(err: unknown): StatusBody | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return undefined;
    }
  }
  return body && typeof body === "object" ? (body as StatusBody) : undefined;
}

/** The API server's own explanation (Status.message) when there is one. */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = statusBody(err);
    if (!body && typeof err.body === "string") return `HTTP ${err.code}: ${err.body.slice(0, 500)}`;
    return `HTTP ${err.code}: ${typeof body?.message === "string" ? body.message : err.message}`;
  }
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

/**
 * A request to the API server failed. `statusCode` is the HTTP status when
 * the server answered (undefined for connection failures and timeouts),
 * `reason` the Status reason (`NotFound`, `Invalid`, `Conflict`, …) and
 * `fields` the per-field causes of a validation failure.
 */
export class KubeApiError extends Error {
  readonly statusCode: number | undefined;
  /** The API server did not answer within the request timeout. */
  readonly timedOut: boolean;
  readonly reason: string | undefined;
  readonly fields: FieldProblem[];
  /** The API server's own explanation, the transport error, or the timeout. */
  readonly detail: string;

  constructor(
    /** What was being done, e.g. `applying StaticSite pagoda-acme/blog`. */
    readonly operation: string,
    cause: unknown,
    timeoutMs?: number,
  ) {
    const timedOut = isTimeout(cause);
    const detail = timedOut
      ? `request timed out: no answer from the API server within ${timeoutMs === undefined ? "the request timeout" : `${timeoutMs / 1000} s`}`
      : apiErrorMessage(cause);
    super(`${operation}: ${detail}`, { cause });
    this.name = "KubeApiError";
    this.statusCode = apiStatusCode(cause);
    this.timedOut = timedOut;
    this.detail = detail;
    const body = statusBody(cause);
    this.reason = typeof body?.reason === "string" ? body.reason : undefined;
    this.fields = (body?.details?.causes ?? [])
      .filter((c) => typeof c.message === "string")
      .map((c) => ({ field: typeof c.field === "string" ? c.field : "", message: c.message as string }));
  }

  get notFound(): boolean {
    return this.statusCode === 404;
  }

  /** The API server refused the object itself (schema, validation rule, immutable field). */
  get invalid(): boolean {
    return this.statusCode === 422;
  }
}

/** What a request is, for metrics; requests without it are not labelled. */
export interface RequestLabels {
  verb: string;
  kind: string;
  /** Changes something in the cluster. */
  write: boolean;
}

export interface KubeRequesterOptions {
  /** Deadline of each request. */
  requestTimeoutMs: number;
  userAgent?: string;
  /** Called once per request, before it is sent. */
  onRequest?: (labels: RequestLabels) => void;
}

/**
 * The generated clients' configuration for one KubeConfig with the deadline
 * in it (what kc.makeApiClient builds, plus the deadline), and the wrapper
 * every request made with it goes through.
 */
export class KubeRequester {
  readonly configuration: Configuration;
  readonly requestTimeoutMs: number;

  constructor(
    kc: KubeConfig,
    private readonly opts: KubeRequesterOptions,
  ) {
    if (!(Number.isFinite(opts.requestTimeoutMs) && opts.requestTimeoutMs > 0)) {
      throw new Error(`the Kubernetes request timeout must be a positive number of milliseconds, not ${opts.requestTimeoutMs}`);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("no Kubernetes cluster configured in the kubeconfig");
    this.requestTimeoutMs = opts.requestTimeoutMs;
    this.configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      ...(opts.userAgent ? { middleware: [setHeaderMiddleware("User-Agent", opts.userAgent)] } : {}),
      promiseMiddleware: [requestTimeout(opts.requestTimeoutMs)],
    });
  }

  /** Runs one request and wraps its failure with what was being done. */
  async call<T>(operation: string, fn: () => Promise<T>, labels?: RequestLabels): Promise<T> {
    if (labels) this.opts.onRequest?.(labels);
    try {
      return await fn();
    } catch (err) {
      throw new KubeApiError(operation, err, this.requestTimeoutMs);
    }
  }
}
