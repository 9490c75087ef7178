// Helpers of the dashboard's integration tests: service-account credentials
// with exactly the permissions the docs ask for, and waiting on real events.
import { randomBytes } from "node:crypto";
import { CoreV1Api, KubeConfig, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions, CustomObjectsApi, type V1PolicyRule } from "@kubernetes/client-node";
import { isNotFound } from "@/lib/kube/request";
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
import { tenantNamespace } from "@/lib/tenancy/slug";
import type { DesiredSite } from "./static-sites";

/** The dashboard's ClusterRole, as docs/dashboard-cluster.md lists it. */
export const DASHBOARD_RULES: V1PolicyRule[] = [
  { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "create", "patch"] },
  { apiGroups: [STATICSITE_GROUP], resources: [STATICSITE_PLURAL], verbs: ["get", "list", "watch", "create", "patch", "delete"] },
  { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["get", "list", "create", "patch"] },
  { apiGroups: [""], resources: ["resourcequotas", "limitranges"], verbs: ["get", "list", "create", "patch"] },
];

/** Enough to read and compare, nothing to write with: proves a call made no write. */
export const READ_ONLY_RULES: V1PolicyRule[] = [
  { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list"] },
  { apiGroups: [STATICSITE_GROUP], resources: [STATICSITE_PLURAL], verbs: ["get", "list", "watch"] },
  { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["get", "list"] },
  { apiGroups: [""], resources: ["resourcequotas", "limitranges"], verbs: ["get", "list"] },
];

export const digestOf = (c: string) => `sha256:${c.repeat(64)}`;

export function randomSuffix(): string {
  return randomBytes(3).toString("hex");
}

export function desiredSite(tenantSlug: string, siteName: string, overrides: Partial<DesiredSite> = {}): DesiredSite {
  return {
    siteId: `site-${tenantSlug}-${siteName}`,
    tenantSlug,
    siteName,
    artifact: { url: `http://127.0.0.1:9/api/artifacts/${"a".repeat(64)}?sig=k1.x`, digest: digestOf("a") },
    baseDomain: "pagoda.test",
    spa: false,
    notFoundPage: null,
    ...overrides,
  };
}

/** A KubeConfig for a new ServiceAccount bound to `rules` cluster-wide. */
export async function serviceAccountKubeConfig(admin: KubeConfig, name: string, rules: V1PolicyRule[]): Promise<KubeConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const namespace = "default";
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createClusterRole({ body: { metadata: { name }, rules } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
    },
  });
  const token = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { expirationSeconds: 3600 } } });
  const cluster = admin.getCurrentCluster();
  if (!cluster || !token.status?.token) throw new Error("admin kubeconfig has no cluster, or no token was issued");
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: "test" }],
    users: [{ name, token: token.status.token }],
    contexts: [{ name, cluster: "test", user: name }],
    currentContext: name,
  });
  return kc;
}

/** The tenant's StaticSite as the API server has it, read with the test's own client (`kc`'s credentials); null when there is none. */
export async function readStaticSite(kc: KubeConfig, tenantSlug: string, siteName: string): Promise<StaticSite | null> {
  try {
    return (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: STATICSITE_GROUP,
      version: STATICSITE_VERSION,
      plural: STATICSITE_PLURAL,
      namespace: tenantNamespace(tenantSlug),
      name: siteName,
    })) as StaticSite;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Writes status the way the operator does: server-side apply on the status subresource. */
export async function applyStatusAsOperator(
  admin: KubeConfig,
  ss: { metadata: { namespace: string; name: string } },
  status: StaticSiteStatus,
): Promise<StaticSite> {
  const custom = admin.makeApiClient(CustomObjectsApi);
  return (await custom.patchNamespacedCustomObjectStatus(
    {
      group: STATICSITE_GROUP,
      version: STATICSITE_VERSION,
      plural: STATICSITE_PLURAL,
      namespace: ss.metadata.namespace,
      name: ss.metadata.name,
      body: { apiVersion: STATICSITE_API_VERSION, kind: STATICSITE_KIND, metadata: { name: ss.metadata.name, namespace: ss.metadata.namespace }, status },
      fieldManager: FIELD_MANAGER_OPERATOR,
      force: true,
    },
    setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
  )) as StaticSite;
}

/** Resolves with the first value `accept` returns other than undefined, from values pushed into the returned sink. */
export function collector<T>() {
  const seen: T[] = [];
  let waiter: { accept: (v: T) => boolean; resolve: (v: T) => void } | undefined;
  return {
    seen,
    push(value: T): void {
      seen.push(value);
      if (waiter?.accept(value)) {
        waiter.resolve(value);
        waiter = undefined;
      }
    },
    /** Waits for a value (already seen, from index `from` on, or future) that satisfies `accept`. */
    waitFor(what: string, accept: (v: T) => boolean, from = 0, timeoutMs = 20_000): Promise<T> {
      const found = seen.slice(from).find(accept);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; saw ${seen.length} values`));
        }, timeoutMs);
        waiter = {
          accept,
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
        };
      });
    },
  };
}

/** Polls `probe` until it returns something other than undefined. */
export async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
