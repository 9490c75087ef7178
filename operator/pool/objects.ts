// Pure builders of the shared serving pool's objects: its namespace, the
// Secret its agents and the operator share, the Deployment of identical
// replicas, their PodDisruptionBudget, Service and the one wildcard Ingress
// that sends every built-in host without an Ingress of its own to the pool.
// No I/O here; operator/pool/reconcile.ts applies them with the site
// children's drift machinery.
import { randomBytes } from "node:crypto";
import type { V1Container, V1Deployment, V1Ingress, V1Namespace, V1PodDisruptionBudget, V1Secret, V1Service, V1Volume } from "@kubernetes/client-node";
import { LABEL_MANAGED_BY, LABEL_MANAGED_BY_VALUE } from "@/lib/staticsite/types";
import type { OperatorConfig, PoolConfig } from "../config";
import { NGINX_UID, PRE_STOP_SECONDS } from "../children";
import { LABEL_COMPONENT, POOL_COMPONENT, POOL_MIRROR_PORT_NAME, POOL_NAME, POOL_POD_LABELS } from "@/lib/staticsite/pool";
import { AGENT_ENV, AGENT_PORT, MIRROR_PORT } from "./protocol";

export { POOL_NAME, POOL_POD_LABELS, POOL_POD_SELECTOR } from "@/lib/staticsite/pool";
export const POOL_TOKEN_SECRET = "pagoda-pool-token";
export const POOL_TOKEN_KEY = "token";
export const POOL_CONTAINER = "agent";
/** Port nginx serves the shared sites on inside a pool pod. */
export const POOL_HTTP_PORT = 8080;
export const POOL_CONTAINER_RESOURCES = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } };
/** Below every exact-host router, so a dedicated site's own Ingress always wins over the wildcard. */
export const POOL_ROUTER_PRIORITY = "1";
export const ANNOTATION_ROUTER_PRIORITY = "traefik.ingress.kubernetes.io/router.priority";
const LABEL_PART_OF = "app.kubernetes.io/part-of";

export const STORE_MOUNT = "/var/lib/pagoda-pool/store";
export const WORK_MOUNT = "/var/lib/pagoda-pool/work";

/** On the pool's Deployment, Service, PDB and Ingress: `managed-by` puts them in the operator's caches. */
function objectLabels(): Record<string, string> {
  return { [LABEL_MANAGED_BY]: LABEL_MANAGED_BY_VALUE, ...POOL_POD_LABELS };
}

export type PoolObjectConfig = Pick<OperatorConfig, "imagePullPolicy" | "ingressClass" | "tls" | "wildcardSecret" | "baseDomain"> & {
  pool: PoolConfig;
};

const POD_SECURITY = "pod-security.kubernetes.io";

/**
 * `restricted`, the level tenant namespaces enforce, unless the store is a
 * node directory: every level below `privileged` forbids hostPath volumes.
 * Not `managed-by: pagoda`, which would make it a tenant namespace under the
 * default namespace selector.
 */
export function poolNamespace(config: PoolObjectConfig): V1Namespace {
  const level = config.pool.storeHostPath ? "privileged" : "restricted";
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: config.pool.namespace,
      labels: {
        [LABEL_PART_OF]: "pagoda",
        [LABEL_COMPONENT]: POOL_COMPONENT,
        [`${POD_SECURITY}/enforce`]: level,
        [`${POD_SECURITY}/enforce-version`]: "latest",
        [`${POD_SECURITY}/warn`]: level,
      },
    },
  };
}

/** Made once when missing, never applied again: a new token would lock the operator out of running agents until they restart. */
export function poolTokenSecret(config: PoolObjectConfig, token: string = randomBytes(32).toString("base64url")): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: POOL_TOKEN_SECRET, namespace: config.pool.namespace, labels: objectLabels() },
    type: "Opaque",
    stringData: { [POOL_TOKEN_KEY]: token },
  };
}

const MiB = 1024 * 1024;

/** The store holds tarballs of every shared site (the agent evicts beyond its limit); the work dir their unpacked trees. */
function volumes(config: PoolConfig): V1Volume[] {
  const store: V1Volume = config.storeHostPath
    ? { name: "store", hostPath: { path: config.storeHostPath, type: "DirectoryOrCreate" } }
    : { name: "store", emptyDir: config.storeMaxBytes ? { sizeLimit: `${Math.ceil((config.storeMaxBytes * 1.1) / MiB)}Mi` } : {} };
  return [store, { name: "work", emptyDir: {} }, { name: "tmp", emptyDir: { sizeLimit: "256Mi" } }];
}

export function poolContainer(config: PoolObjectConfig): V1Container {
  const { pool } = config;
  return {
    name: POOL_CONTAINER,
    image: pool.image,
    imagePullPolicy: config.imagePullPolicy,
    ports: [
      { name: "http", containerPort: POOL_HTTP_PORT, protocol: "TCP" },
      { name: "agent", containerPort: AGENT_PORT, protocol: "TCP" },
      { name: POOL_MIRROR_PORT_NAME, containerPort: MIRROR_PORT, protocol: "TCP" },
    ],
    env: [
      // From the Secret, never written into the pod spec, where anyone who may read Deployments would see it.
      { name: AGENT_ENV.token, valueFrom: { secretKeyRef: { name: POOL_TOKEN_SECRET, key: POOL_TOKEN_KEY } } },
      { name: AGENT_ENV.podName, valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: AGENT_ENV.storeDir, value: STORE_MOUNT },
      { name: AGENT_ENV.workDir, value: WORK_MOUNT },
      ...(pool.storeMaxBytes ? [{ name: AGENT_ENV.storeMaxBytes, value: String(pool.storeMaxBytes) }] : []),
    ],
    volumeMounts: [
      { name: "store", mountPath: STORE_MOUNT },
      { name: "work", mountPath: WORK_MOUNT },
      { name: "tmp", mountPath: "/tmp" },
    ],
    resources: POOL_CONTAINER_RESOURCES,
    readinessProbe: { httpGet: { path: "/readyz", port: "agent" }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
    livenessProbe: { httpGet: { path: "/healthz", port: "agent" }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    // As for a site's nginx: ingress controllers learn of a terminating pod a moment late.
    lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: NGINX_UID,
      runAsGroup: NGINX_UID,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
  };
}

export function poolDeployment(config: PoolObjectConfig): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: POOL_NAME, namespace: config.pool.namespace, labels: objectLabels() },
    spec: {
      replicas: config.pool.replicas,
      revisionHistoryLimit: 3,
      progressDeadlineSeconds: 300,
      selector: { matchLabels: { ...POOL_POD_LABELS } },
      // Every replica serves every shared site: none may go before its successor is ready.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { ...POOL_POD_LABELS } },
        spec: {
          terminationGracePeriodSeconds: PRE_STOP_SECONDS + 25,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: NGINX_UID,
            runAsGroup: NGINX_UID,
            fsGroup: NGINX_UID,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [poolContainer(config)],
          volumes: volumes(config.pool),
        },
      },
    },
  };
}

/** One replica may be drained at a time; with a single replica a PDB would block every node drain, so there is none. */
export function poolPdb(config: PoolObjectConfig): V1PodDisruptionBudget | undefined {
  if (config.pool.replicas <= 1) return undefined;
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: POOL_NAME, namespace: config.pool.namespace, labels: objectLabels() },
    spec: { minAvailable: 1, selector: { matchLabels: { ...POOL_POD_LABELS } } },
  };
}

export function poolService(config: PoolObjectConfig): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: POOL_NAME, namespace: config.pool.namespace, labels: objectLabels() },
    spec: {
      type: "ClusterIP",
      selector: { ...POOL_POD_LABELS },
      ports: [
        { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
        // Dedicated sites' pods fetch their deploy here when they start (the mirror).
        { name: POOL_MIRROR_PORT_NAME, port: MIRROR_PORT, targetPort: POOL_MIRROR_PORT_NAME, protocol: "TCP" },
      ],
    },
  };
}

/** The host every built-in address lies under: `<site>-<ns>.<base>` is one label below the base domain. */
export function poolWildcardHost(config: Pick<OperatorConfig, "baseDomain">): string {
  return `*.${config.baseDomain}`;
}

/**
 * One rule, `*.<base domain>`, at the lowest router priority: Traefik orders
 * routers by priority before anything else, so a dedicated site's exact-host
 * Ingress (default priority, the rule's length) always wins, and a host
 * leaves the pool the moment such an Ingress appears. With TLS, only the
 * wildcard Secret can cover it (an HTTP-01 certificate cannot be a
 * wildcard); that Secret must then exist in the pool namespace too.
 */
export function poolIngress(config: PoolObjectConfig): V1Ingress {
  const host = poolWildcardHost(config);
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: POOL_NAME,
      namespace: config.pool.namespace,
      labels: objectLabels(),
      annotations: { [ANNOTATION_ROUTER_PRIORITY]: POOL_ROUTER_PRIORITY },
    },
    spec: {
      ...(config.ingressClass ? { ingressClassName: config.ingressClass } : {}),
      ...(config.tls && config.wildcardSecret ? { tls: [{ hosts: [host], secretName: config.wildcardSecret }] } : {}),
      rules: [{ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: POOL_NAME, port: { name: "http" } } } }] } }],
    },
  };
}

export interface PoolObjects {
  namespace: V1Namespace;
  deployment: V1Deployment;
  service: V1Service;
  pdb: V1PodDisruptionBudget | undefined;
  ingress: V1Ingress;
}

/** Everything but the Secret, which is created once and never applied. */
export function desiredPoolObjects(config: PoolObjectConfig): PoolObjects {
  return {
    namespace: poolNamespace(config),
    deployment: poolDeployment(config),
    service: poolService(config),
    pdb: poolPdb(config),
    ingress: poolIngress(config),
  };
}
