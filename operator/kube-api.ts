// Every request the operator makes goes through here, so that each one is
// counted (requests and writes by verb and kind), bounded in time, and
// failures carry context; the deadline and the error are lib/kube's, shared
// with the dashboard. Watches do not come through here: they are meant to
// stay open, and have their own reconnect logic ((lib/kube/informer.ts)).
import {
  CoordinationV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Lease,
} from "@kubernetes/client-node";
import { KubeApiError, KubeRequester } from "@/lib/kube/request";
import {
  FIELD_MANAGER_OPERATOR,
  STATICSITE_API_VERSION,
  STATICSITE_GROUP,
  STATICSITE_KIND,
  STATICSITE_PLURAL,
  STATICSITE_VERSION,
  type StaticSite,
  type StaticSiteStatus,
} from "@/lib/staticsite/types";
import type { OperatorMetrics } from "./metrics";
import type { SiteEvent } from "./status";

export const REPORTING_CONTROLLER = "pagoda.dev/operator";

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export { apiErrorMessage, apiStatusCode, isTimeout, KubeApiError, requestTimeout } from "@/lib/kube/request";

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
  private readonly requester: KubeRequester;

  constructor(
    readonly kc: KubeConfig,
    metrics: OperatorMetrics,
    opts: KubeApiOptions = {},
  ) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.requester = new KubeRequester(kc, {
      requestTimeoutMs: this.requestTimeoutMs,
      userAgent: "pagoda-operator",
      onRequest: ({ verb, kind, write }) => {
        metrics.apiRequests.inc({ verb, kind });
        if (write) metrics.apiWrites.inc({ verb, kind });
      },
    });
    const config = this.requester.configuration;
    // Every request names its namespace, so the object client needs no default one.
    this.objects = new KubernetesObjectApi(config);
    this.custom = new CustomObjectsApi(config);
    this.events = new EventsV1Api(config);
    this.coordination = new CoordinationV1Api(config);
  }

  /** Runs one counted API call and wraps its failure with what was being done. */
  async call<T>(verb: string, kind: string, write: boolean, what: string, fn: () => Promise<T>): Promise<T> {
    return this.requester.call(what, fn, { verb, kind, write });
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
      return await this.call("get", "Lease", false, `reading Lease ${namespace}/${name}`, () => this.coordination.readNamespacedLease({ namespace, name }));
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
