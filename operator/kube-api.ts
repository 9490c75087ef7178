// The operator's side of lib/kube's request wrapper: the deadline, the user
// agent and the Prometheus metrics of every request (requests and writes by
// verb and kind, and how long each took by answer), and the few writes the
// reconciler makes. Watches do not come through here: they are meant to stay
// open, and have their own reconnect logic (lib/kube/informer.ts).
import { EventsV1Api, KubernetesObjectApi, PatchStrategy, V1MicroTime, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { loadKubeConfig } from "@/lib/kube/connection";
import { keepPlainJson } from "@/lib/kube/plain-objects";
import { isNotFound, KubeRequester, METADATA_ONLY, type PartialObjectMetadata, type RequestDone } from "@/lib/kube/request";
import { objectPath, type ResourceType } from "@/lib/kube/resource-path";
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
import type { OperatorConfig } from "./config";
import type { OperatorMetrics } from "./metrics";
import type { SiteEvent } from "./status";

export const REPORTING_CONTROLLER = "pagoda.dev/operator";

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * The operator's cluster: the file named by KUBECONFIG, else ~/.kube/config,
 * else the pod's service account. Throws, naming where it looked: the
 * operator cannot do anything without one.
 */
export function operatorKubeConfig(config: Pick<OperatorConfig, "kubeconfigPath">, env: Record<string, string | undefined> = process.env): KubeConfig {
  const loaded = loadKubeConfig({ file: config.kubeconfigPath, defaultFile: true, inCluster: true, env });
  if (!loaded.ok) throw new Error(loaded.misconfigured ? loaded.reason : `${loaded.reason}: set KUBECONFIG or run in a cluster`);
  return loaded.kc;
}

/** Feeds one finished request into the operator's metrics. */
export function recordRequest(metrics: OperatorMetrics, done: RequestDone): void {
  const labels = { verb: done.verb, kind: done.resource };
  metrics.apiRequests.inc(labels);
  if (done.write) metrics.apiWrites.inc(labels);
  const code = done.timedOut ? "timeout" : done.code === undefined ? "none" : String(done.code);
  metrics.apiRequestDuration.observe({ ...labels, code }, done.seconds);
}

/**
 * What the operator writes, lists and watches through the object client:
 * built and read as plain JSON, so the client sends and returns them as they
 * are (lib/kube/plain-objects.ts).
 */
const PLAIN_KINDS = [
  { group: "", version: "v1", kind: "ConfigMap" },
  { group: "", version: "v1", kind: "Service" },
  { group: "", version: "v1", kind: "Pod" },
  { group: "", version: "v1", kind: "Namespace" },
  { group: "apps", version: "v1", kind: "Deployment" },
  { group: "networking.k8s.io", version: "v1", kind: "Ingress" },
  { group: "policy", version: "v1", kind: "PodDisruptionBudget" },
  { group: "cert-manager.io", version: "v1", kind: "Certificate" },
];

/** The kinds the operator applies, by kind: their paths, without asking discovery. */
const APPLIED_KINDS: Record<string, ResourceType> = {
  ConfigMap: { group: "", version: "v1", plural: "configmaps" },
  Service: { group: "", version: "v1", plural: "services" },
  Deployment: { group: "apps", version: "v1", plural: "deployments" },
  Ingress: { group: "networking.k8s.io", version: "v1", plural: "ingresses" },
  PodDisruptionBudget: { group: "policy", version: "v1", plural: "poddisruptionbudgets" },
  Certificate: { group: "cert-manager.io", version: "v1", plural: "certificates" },
};

const STATICSITES: ResourceType = { group: STATICSITE_GROUP, version: STATICSITE_VERSION, plural: STATICSITE_PLURAL };

const APPLY_QUERY = `?fieldManager=${encodeURIComponent(FIELD_MANAGER_OPERATOR)}&force=true`;

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
  /** Every request of the operator goes through it; the leader elector gets it too. */
  readonly requester: KubeRequester;
  // No CoreV1Api, AppsV1Api and the like: the object client covers what the
  // operator does with them, and leaving them out keeps most of the client's
  // generated code out of the operator's bundle (scripts/operator-build.ts).
  readonly objects: KubernetesObjectApi;
  private readonly events: EventsV1Api;

  constructor(
    readonly kc: KubeConfig,
    metrics: OperatorMetrics,
    opts: KubeApiOptions = {},
  ) {
    this.requester = new KubeRequester(kc, {
      requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      userAgent: "pagoda-operator",
      onRequest: (done) => recordRequest(metrics, done),
    });
    keepPlainJson(PLAIN_KINDS);
    // Every request names its namespace, so the object client needs no default one.
    this.objects = this.requester.client(KubernetesObjectApi);
    this.events = this.requester.client(EventsV1Api);
  }

  /** Runs one counted API call and wraps its failure with what was being done. */
  async call<T>(verb: string, kind: string, write: boolean, what: string, fn: () => Promise<T>): Promise<T> {
    return this.requester.call(what, fn, { verb, resource: kind, write });
  }

  /**
   * Server-side apply as pagoda-operator, taking over fields others changed.
   * Answered with the object's metadata only: the caller knows the fields it
   * applied, and what it needs of the answer is the resourceVersion and
   * generation the write produced. The whole object with its managed fields
   * would be about twice the bytes to receive, parse and collect.
   */
  async apply(obj: KubernetesObject): Promise<PartialObjectMetadata> {
    const kind = obj.kind ?? "Unknown";
    const type = APPLIED_KINDS[kind];
    const { namespace, name } = obj.metadata ?? {};
    const what = `applying ${kind} ${namespace}/${name}`;
    if (!type || !namespace || !name) throw new Error(`${what}: the operator applies only named, namespaced ${Object.keys(APPLIED_KINDS).join(", ")} objects`);
    return this.requester.request<PartialObjectMetadata>(
      what,
      {
        method: "PATCH",
        path: objectPath(type, namespace, name) + APPLY_QUERY,
        body: JSON.stringify(obj),
        contentType: PatchStrategy.ServerSideApply,
        accept: METADATA_ONLY,
      },
      { verb: "apply", resource: kind, write: true },
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
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Applies the whole status through the status subresource. Answers with
   * the site's resourceVersion and generation right after the write: a
   * generation above the written site's means its spec changed since it was
   * read.
   */
  async applyStatus(site: StaticSite, status: StaticSiteStatus): Promise<{ resourceVersion?: string; generation?: number }> {
    const { namespace, name } = site.metadata;
    const body = { apiVersion: STATICSITE_API_VERSION, kind: STATICSITE_KIND, metadata: { name, namespace }, status };
    const result = await this.requester.request<PartialObjectMetadata>(
      `writing status of StaticSite ${namespace}/${name}`,
      {
        method: "PATCH",
        path: objectPath(STATICSITES, namespace, name, "status") + APPLY_QUERY,
        body: JSON.stringify(body),
        contentType: PatchStrategy.ServerSideApply,
        accept: METADATA_ONLY,
      },
      { verb: "apply-status", resource: STATICSITE_KIND, write: true },
    );
    return { resourceVersion: result.metadata?.resourceVersion, generation: result.metadata?.generation };
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
}
