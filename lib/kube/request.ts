// One way to make requests to a Kubernetes API server, shared by the operator
// and the dashboard: every request gets its own deadline, an optional hook
// sees how it ended (for metrics), and a failure becomes a KubeApiError that
// says what was being done and why it failed. Generic on purpose: nothing here
// knows what the objects mean. Watches do not come through here: they are
// meant to stay open and have their own reconnect logic.
import { AsyncLocalStorage } from "node:async_hooks";
import {
  ApiException,
  createConfiguration,
  RequestContext,
  ServerConfiguration,
  setHeaderMiddleware,
  type Configuration,
  type KubeConfig,
  type Middleware,
  type V1ObjectMeta,
} from "@kubernetes/client-node";
import { exchangeText, type Dispatcher } from "./dispatch";
import { undiciHttpLibrary } from "./http-library";

/** HTTP status of the last response a request got, written by the middleware below. */
const answered = new AsyncLocalStorage<{ code?: number }>();

/**
 * Gives every request its own deadline, started just before it is sent and
 * covering the response body too. The client sets none, so a connection that
 * stops answering (a half-open socket, a stuck proxy) would otherwise hold the
 * caller for good. Aborting (rather than racing a timer) also closes the socket.
 */
function deadline(timeoutMs: number): Middleware {
  return {
    pre: async (context) => {
      context.setSignal(AbortSignal.timeout(timeoutMs));
      return context;
    },
    post: async (response) => {
      const slot = answered.getStore();
      if (slot) slot.code = response.httpStatusCode;
      return response;
    },
  };
}

/** True for the error a request ends with when its deadline passed. */
export function isTimeout(err: unknown): boolean {
  if (err instanceof KubeApiError) return err.timedOut;
  return err instanceof Error && err.name === "TimeoutError";
}

/**
 * HTTP status of a failed API call (a KubeApiError, the client's
 * ApiException, or a Status object a watch delivered), if it got that far.
 */
export function apiStatusCode(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.statusCode;
  if (err instanceof ApiException) return err.code;
  // An aborted request's DOMException has a numeric `code` too (23 for a timeout), which is no HTTP status.
  if (isTimeout(err) || err instanceof DOMException) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown } | null | undefined;
  const code = typeof e?.statusCode === "number" ? e.statusCode : e?.code;
  return typeof code === "number" && code >= 100 && code <= 599 ? code : undefined;
}

/** The object (or, for a collection, the API) does not exist. */
export const isNotFound = (err: unknown): boolean => apiStatusCode(err) === 404;
/** Someone else changed the object (resourceVersion or precondition), or it already exists. */
export const isConflict = (err: unknown): boolean => apiStatusCode(err) === 409;
/** The resourceVersion a list or watch asked for is too old: list again. */
export const isGone = (err: unknown): boolean => apiStatusCode(err) === 410;
/** The API server refused the object itself (schema, validation rule, immutable field). */
export const isInvalid = (err: unknown): boolean => apiStatusCode(err) === 422;

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

// What the API server says when the URL names no API it serves, as opposed to
// `<kind> "<name>" not found` for one missing object.
const NOT_SERVED = "the server could not find the requested resource";

/** The API server's own explanation (Status.message) when there is one. */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof KubeApiError) return err.message;
  if (err instanceof ApiException) {
    const body = statusBody(err);
    if (!body && typeof err.body === "string") return `HTTP ${err.code}: ${err.body.slice(0, 500)}`;
    const message = typeof body?.message === "string" ? body.message : err.message;
    const hint = err.code === 404 && message === NOT_SERVED ? " (this API is not served: is its CustomResourceDefinition installed?)" : "";
    return `HTTP ${err.code}: ${message}${hint}`;
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

  get invalid(): boolean {
    return this.statusCode === 422;
  }
}

/** What a request is, for metrics; requests without it are not reported. */
export interface RequestLabels {
  verb: string;
  /** The kind (or resource) the request is about, e.g. `Lease`. */
  resource: string;
  /** Changes something in the cluster. */
  write: boolean;
}

/** How one labelled request ended. */
export interface RequestDone extends RequestLabels {
  /** HTTP status of the answer; undefined when none came (timeout, refused or reset connection). */
  code: number | undefined;
  timedOut: boolean;
  seconds: number;
}

export interface KubeRequesterOptions {
  /** Deadline of each request. */
  requestTimeoutMs: number;
  userAgent?: string;
  /** Called once per labelled request, after it ended (also when it failed). */
  onRequest?: (done: RequestDone) => void;
}

/**
 * What the API server is asked to answer with instead of the whole object:
 * its metadata only (name, uid, resourceVersion, generation, labels,
 * annotations, owner references, managed fields). Served for reads, lists,
 * watches and writes alike, for every kind, custom resources included.
 */
export const METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

/** An object's metadata, as a METADATA_ONLY answer carries it. */
export interface PartialObjectMetadata {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
}

/** One request sent as it is, for the few requests a caller makes so often that the typed clients' machinery shows. */
export interface DirectRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path under the API server's URL, query included, e.g. `/api/v1/namespaces/a/configmaps/b?fieldManager=x`. */
  path: string;
  /** The body as sent: JSON (an apply patch is JSON too). */
  body?: string;
  contentType?: string;
  /** What to answer with; `application/json` when omitted. */
  accept?: string;
}

/** A generated API class of @kubernetes/client-node (CoreV1Api, CustomObjectsApi, …). */
export type ApiClass<T> = new (configuration: Configuration) => T;

/**
 * The typed clients of one KubeConfig with the deadline in every request
 * (what kc.makeApiClient builds, plus the deadline), and the wrapper every
 * request made with them goes through.
 */
export class KubeRequester {
  readonly configuration: Configuration;
  readonly requestTimeoutMs: number;
  private readonly clients = new Map<ApiClass<unknown>, unknown>();
  /** The API server's URL without a trailing slash; it may carry a path prefix (a proxy's). */
  private readonly server: string;
  private readonly origin: string;

  constructor(
    readonly kc: KubeConfig,
    private readonly opts: KubeRequesterOptions,
  ) {
    if (!(Number.isFinite(opts.requestTimeoutMs) && opts.requestTimeoutMs > 0)) {
      throw new Error(`the Kubernetes request timeout must be a positive number of milliseconds, not ${opts.requestTimeoutMs}`);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("no Kubernetes cluster configured in the kubeconfig");
    this.requestTimeoutMs = opts.requestTimeoutMs;
    this.server = cluster.server.replace(/\/+$/, "");
    this.origin = new URL(this.server).origin;
    this.configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      httpApi: undiciHttpLibrary(),
      authMethods: { default: kc },
      ...(opts.userAgent ? { middleware: [setHeaderMiddleware("User-Agent", opts.userAgent)] } : {}),
      promiseMiddleware: [deadline(opts.requestTimeoutMs)],
    });
  }

  /** The typed client of this class, made once; its requests carry the deadline. */
  client<T>(api: ApiClass<T>): T {
    let found = this.clients.get(api) as T | undefined;
    if (!found) {
      found = new api(this.configuration);
      this.clients.set(api, found);
    }
    return found;
  }

  /**
   * Sends one request as it is and parses its JSON answer, with the same
   * deadline, authentication, connection pool, errors and hook as the typed
   * clients' requests. For the requests a process makes per object it
   * manages: the typed clients build a URL, a chain of middleware
   * observables, a response object and a serializer pass around each call;
   * in a side test that was about a third of the client's CPU per apply
   * (docs/operator.md).
   */
  async request<T>(operation: string, req: DirectRequest, labels?: RequestLabels): Promise<T> {
    return this.call(operation, () => this.send<T>(req), labels);
  }

  private async send<T>(req: DirectRequest): Promise<T> {
    // Authentication is looked up per request, as the typed clients do: a
    // rotated certificate or token takes effect on the next one.
    const context = new RequestContext(this.server, req.method);
    await this.kc.applySecurityAuthentication(context);
    const headers: Record<string, string> = { ...context.getHeaders(), Accept: req.accept ?? "application/json" };
    if (req.contentType) headers["Content-Type"] = req.contentType;
    if (this.opts.userAgent) headers["User-Agent"] = this.opts.userAgent;
    const signal = AbortSignal.timeout(this.requestTimeoutMs);
    const dispatcher = context.getDispatcher();
    const answer = dispatcher
      ? await sendPooled(dispatcher, this.origin, this.server.slice(this.origin.length) + req.path, req, headers, signal)
      : await sendFetch(this.server, req, headers, signal);
    const slot = answered.getStore();
    if (slot) slot.code = answer.code;
    if (answer.code < 200 || answer.code > 299) throw new ApiException(answer.code, "Unsuccessful HTTP Request", answer.text, flatHeaders(answer.headers));
    return JSON.parse(answer.text) as T;
  }

  /** Runs one request and wraps its failure with what was being done. */
  async call<T>(operation: string, fn: () => Promise<T>, labels?: RequestLabels): Promise<T> {
    const slot: { code?: number } = {};
    const started = performance.now();
    let failure: unknown;
    try {
      return await answered.run(slot, fn);
    } catch (err) {
      failure = new KubeApiError(operation, err, this.requestTimeoutMs);
      throw failure;
    } finally {
      if (labels && this.opts.onRequest) {
        const failed = failure as KubeApiError | undefined;
        this.opts.onRequest({
          ...labels,
          code: failed ? failed.statusCode : slot.code,
          timedOut: failed?.timedOut ?? false,
          seconds: (performance.now() - started) / 1000,
        });
      }
    }
  }
}

interface Answer {
  code: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Headers as the typed clients' errors carry them. */
function flatHeaders(headers: Answer["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  return out;
}

/** Through the connection pool; the body is read under the same deadline. */
async function sendPooled(
  dispatcher: Dispatcher,
  origin: string,
  path: string,
  req: DirectRequest,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<Answer> {
  const answer = await exchangeText(dispatcher, { origin, path, method: req.method, headers, ...(req.body !== undefined ? { body: req.body } : {}) }, signal);
  return { code: answer.statusCode, text: answer.text, headers: answer.headers };
}

/** Without TLS settings in the kubeconfig there is no pool (lib/kube/connection.ts): the typed clients then use fetch() too. */
async function sendFetch(server: string, req: DirectRequest, headers: Record<string, string>, signal: AbortSignal): Promise<Answer> {
  const res = await fetch(server + req.path, { method: req.method, headers, body: req.body, signal });
  return { code: res.status, text: await res.text(), headers: Object.fromEntries(res.headers) };
}
