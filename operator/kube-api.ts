// Every request the operator makes goes through here, so that each one is
// counted (requests and writes by verb and kind), bounded in time, and
// failures carry context. Watches do not come through here: they are meant to
// stay open, and have their own reconnect logic (watch-cache.ts).
import {
  ApiException,
  CoordinationV1Api,
  createConfiguration,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  setHeaderMiddleware,
  setHeaderOptions,
  V1MicroTime,
  type Configuration,
  type KubernetesListObject,
  type KubernetesObject,
  type Middleware,
  type V1Lease,
} from "@kubernetes/client-node";
import {
  FIELD_MANAGER_OPERATOR,
  STATICSITE_API_VERSION,
  STATICSITE_GROUP,
  STATICSITE_KIND,
  STATICSITE_PLURAL,
  STATICSITE_VERSION,
  type StaticSite,
  type StaticSiteStatus,
} from "@/lib/k8s/staticsite";
import type { OperatorMetrics } from "./metrics";
import type { SiteEvent } from "./status";

export const REPORTING_CONTROLLER = "pagoda.dev/operator";

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Gives every request its own deadline, started just before it is sent and
 * covering the response body too. The client sets none, so a connection that
 * stops answering (a half-open socket, a stuck proxy) would otherwise hold a
 * reconcile, and its slot in the work queue, for good. Aborting (rather than
 * racing a timer) also closes the socket.
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

/** What the generated clients get from kc.makeApiClient, plus the deadline. */
function apiConfiguration(kc: KubeConfig, timeoutMs: number): Configuration {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("no Kubernetes cluster configured in the kubeconfig");
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    middleware: [setHeaderMiddleware("User-Agent", "pagoda-operator")],
    promiseMiddleware: [requestTimeout(timeoutMs)],
  });
}

/** HTTP status of a failed API call, if it got that far. */
export function apiStatusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const e = err as { code?: unknown; statusCode?: unknown } | undefined;
  if (typeof e?.statusCode === "number") return e.statusCode;
  if (typeof e?.code === "number") return e.code;
  return undefined;
}

/** The API server's own explanation (Status.message) when there is one. */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    let body: unknown = err.body;
    if (typeof body === "string") {
      try {
        body = JSON.parse(body);
      } catch {
        return `HTTP ${err.code}: ${String(body).slice(0, 500)}`;
      }
    }
    const message = (body as { message?: unknown } | undefined)?.message;
    return `HTTP ${err.code}: ${typeof message === "string" ? message : err.message}`;
  }
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

export class KubeApiError extends Error {
  readonly statusCode: number | undefined;
  /** The API server did not answer within the request timeout. */
  readonly timedOut: boolean;
  constructor(what: string, cause: unknown, timeoutMs?: number) {
    const timedOut = isTimeout(cause);
    const detail = timedOut
      ? `request timed out: no answer from the API server within ${timeoutMs === undefined ? "the request timeout" : `${timeoutMs / 1000} s`}`
      : apiErrorMessage(cause);
    super(`${what}: ${detail}`, { cause });
    this.name = "KubeApiError";
    this.statusCode = apiStatusCode(cause);
    this.timedOut = timedOut;
  }
}

export interface KubeApiOptions {
  /** Deadline of each request (watches excepted). */
  requestTimeoutMs?: number;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

export class KubeApi {
  // No CoreV1Api, AppsV1Api and the like: the object client covers what the
  // operator does with them, and leaving them out keeps most of the client's
  // generated code out of the operator's bundle (scripts/operator-build.ts).
  readonly objects: KubernetesObjectApi;
  readonly custom: CustomObjectsApi;
  readonly events: EventsV1Api;
  readonly coordination: CoordinationV1Api;
  readonly requestTimeoutMs: number;

  constructor(
    readonly kc: KubeConfig,
    private readonly metrics: OperatorMetrics,
    opts: KubeApiOptions = {},
  ) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const config = apiConfiguration(kc, this.requestTimeoutMs);
    // Every request names its namespace, so the object client needs no default one.
    this.objects = new KubernetesObjectApi(config);
    this.custom = new CustomObjectsApi(config);
    this.events = new EventsV1Api(config);
    this.coordination = new CoordinationV1Api(config);
  }

  private count(verb: string, kind: string, write: boolean): void {
    this.metrics.apiRequests.inc({ verb, kind });
    if (write) this.metrics.apiWrites.inc({ verb, kind });
  }

  /** Runs one counted API call and wraps its failure with what was being done. */
  async call<T>(verb: string, kind: string, write: boolean, what: string, fn: () => Promise<T>): Promise<T> {
    this.count(verb, kind, write);
    try {
      return await fn();
    } catch (err) {
      throw new KubeApiError(what, err, this.requestTimeoutMs);
    }
  }

  /** Server-side apply as pagoda-operator, taking over fields others changed. */
  async apply<T extends KubernetesObject>(obj: T): Promise<T> {
    const kind = obj.kind ?? "Unknown";
    return this.call("apply", kind, true, `applying ${kind} ${obj.metadata?.namespace}/${obj.metadata?.name}`, () =>
      this.objects.patch(obj, undefined, undefined, FIELD_MANAGER_OPERATOR, true, PatchStrategy.ServerSideApply),
    );
  }

  /** Deletes the object; false when it was already gone. */
  async delete(ref: ObjectRef): Promise<boolean> {
    try {
      await this.call("delete", ref.kind, true, `deleting ${ref.kind} ${ref.namespace}/${ref.name}`, () =>
        this.objects.delete({
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, namespace: ref.namespace },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return false;
      throw err;
    }
  }

  /** Applies the whole status through the status subresource; returns the new resourceVersion. */
  async applyStatus(site: StaticSite, status: StaticSiteStatus): Promise<string | undefined> {
    const body = {
      apiVersion: STATICSITE_API_VERSION,
      kind: STATICSITE_KIND,
      metadata: { name: site.metadata.name, namespace: site.metadata.namespace },
      status,
    };
    const result = (await this.call(
      "apply-status",
      STATICSITE_KIND,
      true,
      `writing status of StaticSite ${site.metadata.namespace}/${site.metadata.name}`,
      () =>
        this.custom.patchNamespacedCustomObjectStatus(
          {
            group: STATICSITE_GROUP,
            version: STATICSITE_VERSION,
            plural: STATICSITE_PLURAL,
            namespace: site.metadata.namespace,
            name: site.metadata.name,
            body,
            fieldManager: FIELD_MANAGER_OPERATOR,
            force: true,
          },
          setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
        ),
    )) as StaticSite;
    return result.metadata?.resourceVersion;
  }

  async createEvent(site: StaticSite, event: SiteEvent, reportingInstance: string): Promise<void> {
    const suffix = `${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
    await this.call("create", "Event", true, `recording event ${event.reason} on ${site.metadata.namespace}/${site.metadata.name}`, () =>
      this.events.createNamespacedEvent({
        namespace: site.metadata.namespace,
        body: {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { name: `${site.metadata.name}.${suffix}`, namespace: site.metadata.namespace },
          eventTime: new V1MicroTime(),
          reportingController: REPORTING_CONTROLLER,
          reportingInstance: reportingInstance.slice(0, 128),
          action: "Reconcile",
          reason: event.reason,
          note: event.message.slice(0, 1024),
          type: event.type,
          regarding: {
            apiVersion: STATICSITE_API_VERSION,
            kind: STATICSITE_KIND,
            name: site.metadata.name,
            namespace: site.metadata.namespace,
            uid: site.metadata.uid,
          },
        },
      }),
    );
  }

  async listStaticSites(): Promise<KubernetesListObject<StaticSite>> {
    return this.call("list", STATICSITE_KIND, false, "listing StaticSites", async () => {
      const list = (await this.custom.listClusterCustomObject({
        group: STATICSITE_GROUP,
        version: STATICSITE_VERSION,
        plural: STATICSITE_PLURAL,
      })) as KubernetesListObject<StaticSite>;
      return list;
    });
  }

  async readLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    try {
      return await this.call("get", "Lease", false, `reading Lease ${namespace}/${name}`, () =>
        this.coordination.readNamespacedLease({ namespace, name }),
      );
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async createLease(lease: V1Lease): Promise<V1Lease> {
    const ns = lease.metadata?.namespace ?? "default";
    return this.call("create", "Lease", true, `creating Lease ${ns}/${lease.metadata?.name}`, () =>
      this.coordination.createNamespacedLease({ namespace: ns, body: lease }),
    );
  }

  async replaceLease(lease: V1Lease): Promise<V1Lease> {
    const ns = lease.metadata?.namespace ?? "default";
    const name = lease.metadata?.name ?? "";
    return this.call("update", "Lease", true, `updating Lease ${ns}/${name}`, () =>
      this.coordination.replaceNamespacedLease({ namespace: ns, name, body: lease }),
    );
  }
}
