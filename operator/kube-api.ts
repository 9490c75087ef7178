// Every request the operator makes goes through here, so that each one is
// counted (requests and writes by verb and kind) and failures carry context.
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  V1MicroTime,
  type KubernetesListObject,
  type KubernetesObject,
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
  constructor(what: string, cause: unknown) {
    super(`${what}: ${apiErrorMessage(cause)}`, { cause });
    this.name = "KubeApiError";
    this.statusCode = apiStatusCode(cause);
  }
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

export class KubeApi {
  readonly objects: KubernetesObjectApi;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly networking: NetworkingV1Api;
  readonly policy: PolicyV1Api;
  readonly custom: CustomObjectsApi;
  readonly events: EventsV1Api;
  readonly coordination: CoordinationV1Api;

  constructor(
    readonly kc: KubeConfig,
    private readonly metrics: OperatorMetrics,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.networking = kc.makeApiClient(NetworkingV1Api);
    this.policy = kc.makeApiClient(PolicyV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.events = kc.makeApiClient(EventsV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
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
      throw new KubeApiError(what, err);
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
