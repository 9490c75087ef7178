// The NetworkPolicy each tenant namespace gets, so that one tenant's site
// pods can neither be reached from nor reach another tenant's: they accept
// only the ingress controller, and send only DNS queries and the artifact
// download to the dashboard (and to the serving pool's mirror, with a
// pool). NetworkPolicies are namespaced and tenant
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
import { originHasIpHost } from "@/lib/staticsite/rules";
import { POOL_MIRROR_PORT_NAME, POOL_POD_LABELS } from "@/lib/staticsite/pool";
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
  /** Namespace of the serving pool, whose mirror hands site pods their deploy (PAGODA_POOL_NAMESPACE); absent: no pool. */
  poolNamespace?: string;
  /** Origins proxy rules may reach (PAGODA_PROXY_ORIGINS); absent when proxying is off. */
  proxyOrigins?: readonly string[];
}

// Pods and ports by label and name, as the operator and deploy/ make them:
// site pods carry managed-by=pagoda and name their nginx port "http"; so do
// the dashboard's pods (app.kubernetes.io/name=pagoda-dashboard) their port.
const DASHBOARD_POD_LABELS = { "app.kubernetes.io/name": "pagoda-dashboard" };
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

// A host name's addresses are not something a NetworkPolicy can name, so an
// origin given by name opens its port to the public address space only: never
// to the cluster's own networks, loopback, link-local (cloud metadata) or the
// other private ranges, which nginx's allow-list already keeps rules away from
// but a policy should not rely on. An origin given as an IP address opens
// exactly that address, private or not: the operator chose it.
const NOT_PUBLIC = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"];

/**
 * The egress rules of the proxy origins: one per distinct destination (an IP
 * address, or the public internet for host names) with the origins' ports.
 * Deterministic in the list's order, so the same list gives the same policy.
 */
export function proxyEgress(origins: readonly string[]): object[] {
  const portsByCidr = new Map<string, number[]>();
  for (const origin of origins) {
    const url = new URL(origin);
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    const cidr = originHasIpHost(origin) ? `${url.hostname}/32` : "0.0.0.0/0";
    const ports = portsByCidr.get(cidr) ?? [];
    if (!ports.includes(port)) ports.push(port);
    portsByCidr.set(cidr, ports);
  }
  return [...portsByCidr].map(([cidr, ports]) => ({
    to: [{ ipBlock: cidr === "0.0.0.0/0" ? { cidr, except: NOT_PUBLIC } : { cidr } }],
    ports: ports.map((port) => ({ protocol: "TCP", port })),
  }));
}

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
        ...(settings.poolNamespace
          ? [
              {
                to: [
                  {
                    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: settings.poolNamespace } },
                    podSelector: { matchLabels: { ...POOL_POD_LABELS } },
                  },
                ],
                ports: [{ protocol: "TCP", port: POOL_MIRROR_PORT_NAME }],
              },
            ]
          : []),
        ...proxyEgress(settings.proxyOrigins ?? []),
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
