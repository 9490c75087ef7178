// What one tenant namespace may hold and run: a ResourceQuota sized from the
// tenant's site quota and a LimitRange that caps (and defaults) every
// container at what the operator gives a site's containers. Written by the
// dashboard with the namespace (and put back by restore), with server-side
// apply as `pagoda-dashboard`. Whatever lands in a tenant namespace, by the
// operator or anyone else, stays inside these bounds.

import "server-only";
import { isDeepStrictEqual } from "node:util";
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1LimitRange,
  type V1ObjectMeta,
  type V1ResourceQuota,
} from "@kubernetes/client-node";
import { FIELD_MANAGER_DASHBOARD, LABEL_MANAGED_BY, LABEL_MANAGED_BY_VALUE, SITE_CONTAINER_RESOURCES, SITE_ROLLOUT_SURGE } from "@/lib/staticsite/types";
import { componentLogger } from "@/lib/log";
import { isNotFound, type KubeRequester } from "@/lib/kube/request";
import { dashboardRequester } from "./kube-clients";

const log = componentLogger("k8s-dashboard");

export const TENANT_QUOTA_NAME = "pagoda-tenant";
export const TENANT_LIMIT_RANGE_NAME = "pagoda-tenant";
/** PAGODA_QUOTA_SITES' default, for callers that do not know the tenant's own figure. */
export const DEFAULT_TENANT_SITES = 50;
/** ReplicaSets a Deployment keeps: its revisionHistoryLimit (3), the current one and one being rolled to. */
const REPLICASETS_PER_SITE = 5;
/** Every namespace gets kube-root-ca.crt from the control plane. */
const SYSTEM_CONFIGMAPS = 1;

/** As the API server writes quantities back, so that a comparison with what is stored is exact. */
export function cpuQuantity(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

export function memoryQuantity(mebibytes: number): string {
  if (mebibytes === 0) return "0";
  if (mebibytes % (1024 * 1024) === 0) return `${mebibytes / (1024 * 1024)}Ti`;
  if (mebibytes % 1024 === 0) return `${mebibytes / 1024}Gi`;
  return `${mebibytes}Mi`;
}

// Typed-client shapes: the client maps a LimitRange item's "default" to
// "_default" both ways, so objects read and objects written compare as is.
export type ResourceQuotaObject = V1ResourceQuota & { metadata: V1ObjectMeta & { name: string; namespace: string } };
export type LimitRangeObject = V1LimitRange & { metadata: V1ObjectMeta & { name: string; namespace: string } };

const labels = () => ({ [LABEL_MANAGED_BY]: LABEL_MANAGED_BY_VALUE });

/**
 * Room for `maxSites` sites of one replica each while every one of them rolls
 * out at once (one surge pod each), and for nothing else: no volumes, no
 * load balancers or node ports.
 *
 * StaticSites themselves are not counted: only the dashboard may write them
 * (the admission policy), and it enforces the site quota in Postgres. A
 * count of a custom resource would also make the quota's status wait for
 * the quota controller to discover the CRD (up to its five-minute resync on
 * a fresh cluster), and until then the API server refuses every object the
 * quota covers with "status unknown for quota": a new tenant's first deploy.
 */
export function desiredTenantQuota(namespace: string, maxSites: number = DEFAULT_TENANT_SITES): ResourceQuotaObject {
  const pods = maxSites * (1 + SITE_ROLLOUT_SURGE);
  const { requests, limits } = SITE_CONTAINER_RESOURCES;
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: TENANT_QUOTA_NAME, namespace, labels: labels() },
    spec: {
      hard: {
        pods: String(pods),
        "requests.cpu": cpuQuantity(pods * requests.cpuMillis),
        "requests.memory": memoryQuantity(pods * requests.memoryMiB),
        "limits.cpu": cpuQuantity(pods * limits.cpuMillis),
        "limits.memory": memoryQuantity(pods * limits.memoryMiB),
        "count/deployments.apps": String(maxSites),
        "count/replicasets.apps": String(maxSites * REPLICASETS_PER_SITE),
        services: String(maxSites),
        configmaps: String(maxSites + SYSTEM_CONFIGMAPS),
        "count/ingresses.networking.k8s.io": String(maxSites),
        "count/poddisruptionbudgets.policy": String(maxSites),
        "services.loadbalancers": "0",
        "services.nodeports": "0",
        persistentvolumeclaims: "0",
      },
    },
  };
}

/** Every container gets the site containers' figures by default and may not ask for more. */
export function desiredTenantLimitRange(namespace: string): LimitRangeObject {
  const { requests, limits } = SITE_CONTAINER_RESOURCES;
  const limit = { cpu: cpuQuantity(limits.cpuMillis), memory: memoryQuantity(limits.memoryMiB) };
  return {
    apiVersion: "v1",
    kind: "LimitRange",
    metadata: { name: TENANT_LIMIT_RANGE_NAME, namespace, labels: labels() },
    spec: {
      limits: [
        {
          type: "Container",
          _default: limit,
          defaultRequest: { cpu: cpuQuantity(requests.cpuMillis), memory: memoryQuantity(requests.memoryMiB) },
          max: limit,
        },
      ],
    },
  };
}

/**
 * Patch bodies go out as given, not through the client's serializer, so the
 * apply body needs the API's own field name back.
 */
function limitRangeWire(obj: LimitRangeObject): object {
  const limits = (obj.spec?.limits ?? []).map(({ _default, ...rest }) => ({ ...rest, ...(_default ? { default: _default } : {}) }));
  return { ...obj, spec: { ...obj.spec, limits } };
}

function labelled(live: { metadata?: V1ObjectMeta }): boolean {
  return Object.entries(labels()).every(([k, v]) => live.metadata?.labels?.[k] === v);
}

/** Only the fields we set: the API server adds none to these two kinds, but a hand edit might. */
function limitItems(obj: LimitRangeObject): unknown {
  return JSON.parse(JSON.stringify(obj.spec?.limits ?? []));
}

export function quotaNeedsApply(live: ResourceQuotaObject | null, desired: ResourceQuotaObject): boolean {
  return !live || !labelled(live) || !isDeepStrictEqual({ ...live.spec?.hard }, { ...desired.spec?.hard });
}

export function limitRangeNeedsApply(live: LimitRangeObject | null, desired: LimitRangeObject): boolean {
  return !live || !labelled(live) || !isDeepStrictEqual(limitItems(live), limitItems(desired));
}

export interface LiveTenantLimits {
  quota: ResourceQuotaObject | null;
  limitRange: LimitRangeObject | null;
}

export function tenantLimitsNeedApply(namespace: string, maxSites: number | undefined, live: LiveTenantLimits): boolean {
  return quotaNeedsApply(live.quota, desiredTenantQuota(namespace, maxSites)) || limitRangeNeedsApply(live.limitRange, desiredTenantLimitRange(namespace));
}

async function readOrNull<T>(kube: KubeRequester, what: string, read: () => Promise<unknown>): Promise<T | null> {
  try {
    return (await kube.call(what, read)) as T;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/**
 * Writes the namespace's quota and limit range unless `live` (read here when
 * not given) already matches. Returns whether it wrote.
 */
export async function ensureTenantLimits(kc: KubeConfig, namespace: string, maxSites?: number, live?: LiveTenantLimits): Promise<boolean> {
  const kube = dashboardRequester(kc);
  const core = kube.client(CoreV1Api);
  const current: LiveTenantLimits = live ?? {
    quota: await readOrNull<ResourceQuotaObject>(kube, `reading ResourceQuota ${namespace}/${TENANT_QUOTA_NAME}`, () =>
      core.readNamespacedResourceQuota({ namespace, name: TENANT_QUOTA_NAME }),
    ),
    limitRange: await readOrNull<LimitRangeObject>(kube, `reading LimitRange ${namespace}/${TENANT_LIMIT_RANGE_NAME}`, () =>
      core.readNamespacedLimitRange({ namespace, name: TENANT_LIMIT_RANGE_NAME }),
    ),
  };
  const quota = desiredTenantQuota(namespace, maxSites);
  const limitRange = desiredTenantLimitRange(namespace);
  const ssa = setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply);
  const apply = { fieldManager: FIELD_MANAGER_DASHBOARD, force: true, namespace };
  let wrote = false;
  if (quotaNeedsApply(current.quota, quota)) {
    await kube.call(`applying ResourceQuota ${namespace}/${TENANT_QUOTA_NAME}`, () =>
      core.patchNamespacedResourceQuota({ ...apply, name: TENANT_QUOTA_NAME, body: quota }, ssa),
    );
    wrote = true;
  }
  if (limitRangeNeedsApply(current.limitRange, limitRange)) {
    await kube.call(`applying LimitRange ${namespace}/${TENANT_LIMIT_RANGE_NAME}`, () =>
      core.patchNamespacedLimitRange({ ...apply, name: TENANT_LIMIT_RANGE_NAME, body: limitRangeWire(limitRange) }, ssa),
    );
    wrote = true;
  }
  if (wrote) log.info({ namespace, maxSites: maxSites ?? DEFAULT_TENANT_SITES }, "tenant quota and limit range written");
  return wrote;
}

/** Every quota and limit range we wrote, by namespace: two reads for restore's steady state. */
export async function listTenantLimits(kc: KubeConfig): Promise<Map<string, LiveTenantLimits>> {
  const kube = dashboardRequester(kc);
  const core = kube.client(CoreV1Api);
  const labelSelector = `${LABEL_MANAGED_BY}=${LABEL_MANAGED_BY_VALUE}`;
  const quotas = (await kube.call("listing tenant ResourceQuotas", () => core.listResourceQuotaForAllNamespaces({ labelSelector }))).items;
  const ranges = (await kube.call("listing tenant LimitRanges", () => core.listLimitRangeForAllNamespaces({ labelSelector }))).items;
  const out = new Map<string, LiveTenantLimits>();
  const entry = (ns: string) => out.get(ns) ?? out.set(ns, { quota: null, limitRange: null }).get(ns)!;
  for (const q of quotas) if (q.metadata?.name === TENANT_QUOTA_NAME && q.metadata.namespace) entry(q.metadata.namespace).quota = q as ResourceQuotaObject;
  for (const r of ranges)
    if (r.metadata?.name === TENANT_LIMIT_RANGE_NAME && r.metadata.namespace) entry(r.metadata.namespace).limitRange = r as LimitRangeObject;
  return out;
}
