// The NetworkPolicy each tenant namespace gets, so that one tenant's site
// pods can neither be reached from nor reach another tenant's: they accept
// only the ingress controller, and send only DNS queries and the artifact
// download to the dashboard. NetworkPolicies are namespaced and tenant
// namespaces appear at run time, so the dashboard writes it together with
// the namespace (and restore puts it back), with server-side apply as
// `pagoda-dashboard`. Enforcement is the CNI's job: without a
// NetworkPolicy-enforcing CNI the object exists and changes nothing.

import "server-only";
import { isDeepStrictEqual } from "node:util";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { isNotFound } from "@/lib/kube/request";
import { FIELD_MANAGER_DASHBOARD, LABEL_MANAGED_BY, LABEL_MANAGED_BY_VALUE } from "@/lib/staticsite/types";
import { componentLogger } from "@/lib/log";
import { dashboardRequester } from "./kube-clients";

const log = componentLogger("k8s-dashboard");

export const TENANT_POLICY_NAME = "pagoda-sites";

// Read and written through the generic object paths, so that the objects
// stay in the API's own JSON (the typed client renames "from" to "_from").
const POLICY_COORDS = { group: "networking.k8s.io", version: "v1", plural: "networkpolicies" } as const;

/** A NetworkPolicy as the API server speaks it, reduced to what we set. */
export interface NetworkPolicyObject {
  apiVersion: "networking.k8s.io/v1";
  kind: "NetworkPolicy";
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec?: unknown;
}

/** Where the ingress controller and the dashboard run; without them no policy is written. */
export interface TenantPolicySettings {
  /** Namespace of the ingress controller's pods, the only ones allowed to reach the sites. */
  ingressNamespace: string;
  /** Namespace of the dashboard's pods, which serve the artifacts the sites download. */
  dashboardNamespace: string;
}

// Pods and ports by label and name, as the operator and deploy/ make them:
// site pods carry managed-by=pagoda and name their nginx port "http"; so do
// the dashboard's pods (app.kubernetes.io/name=pagoda-dashboard) their port.
const DASHBOARD_POD_LABELS = { "app.kubernetes.io/name": "pagoda-dashboard" };
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

export function desiredTenantPolicy(namespace: string, settings: TenantPolicySettings): NetworkPolicyObject {
  const dns = [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
  ];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: TENANT_POLICY_NAME, namespace, labels: { [LABEL_MANAGED_BY]: LABEL_MANAGED_BY_VALUE } },
    spec: {
      podSelector: { matchLabels: { [LABEL_MANAGED_BY]: LABEL_MANAGED_BY_VALUE } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: settings.ingressNamespace } } }],
          ports: [{ protocol: "TCP", port: "http" }],
        },
      ],
      egress: [
        { to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: "kube-system" } } }], ports: dns },
        {
          to: [
            { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: settings.dashboardNamespace } }, podSelector: { matchLabels: DASHBOARD_POD_LABELS } },
          ],
          ports: [{ protocol: "TCP", port: "http" }],
        },
      ],
    },
  };
}

/** True when the live policy is missing, has another spec, or lacks our label. */
export function tenantPolicyNeedsApply(live: NetworkPolicyObject | null, desired: NetworkPolicyObject): boolean {
  if (!live) return true;
  const labels = live.metadata.labels ?? {};
  const labelled = Object.entries(desired.metadata.labels ?? {}).every(([k, v]) => labels[k] === v);
  return !labelled || !isDeepStrictEqual(live.spec, desired.spec);
}

/**
 * Writes the namespace's policy unless `live` (read here when not given)
 * already matches. Returns whether it wrote.
 */
export async function ensureTenantPolicy(
  kc: KubeConfig,
  namespace: string,
  settings: TenantPolicySettings,
  live?: NetworkPolicyObject | null,
): Promise<boolean> {
  const desired = desiredTenantPolicy(namespace, settings);
  const kube = dashboardRequester(kc);
  const custom = kube.client(CustomObjectsApi);
  let current = live;
  if (current === undefined) {
    try {
      current = (await kube.call(`reading NetworkPolicy ${namespace}/${TENANT_POLICY_NAME}`, () =>
        custom.getNamespacedCustomObject({ ...POLICY_COORDS, namespace, name: TENANT_POLICY_NAME }),
      )) as NetworkPolicyObject;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      current = null;
    }
  }
  if (!tenantPolicyNeedsApply(current, desired)) return false;
  await kube.call(`applying NetworkPolicy ${namespace}/${TENANT_POLICY_NAME}`, () =>
    custom.patchNamespacedCustomObject(
      { ...POLICY_COORDS, namespace, name: TENANT_POLICY_NAME, body: desired, fieldManager: FIELD_MANAGER_DASHBOARD, force: true },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    ),
  );
  log.info({ namespace, policy: TENANT_POLICY_NAME, created: !current }, current ? "tenant network policy corrected" : "tenant network policy created");
  return true;
}

/** Every policy we wrote, by namespace: one read for restore's steady state. */
export async function listTenantPolicies(kc: KubeConfig): Promise<Map<string, NetworkPolicyObject>> {
  const kube = dashboardRequester(kc);
  const list = (await kube.call("listing tenant NetworkPolicies", () =>
    kube.client(CustomObjectsApi).listClusterCustomObject({ ...POLICY_COORDS, labelSelector: `${LABEL_MANAGED_BY}=${LABEL_MANAGED_BY_VALUE}` }),
  )) as { items?: NetworkPolicyObject[] };
  return new Map((list.items ?? []).filter((p) => p.metadata.name === TENANT_POLICY_NAME).map((p) => [p.metadata.namespace, p]));
}
