// The StaticSite API shared by the dashboard (which writes specs and reads
// status) and the operator (which reads specs and writes status). Keep this
// module free of runtime dependencies so both sides can import it cheaply.
import type { V1ObjectMeta } from "@kubernetes/client-node";

export const STATICSITE_GROUP = "pagoda.dev";
export const STATICSITE_VERSION = "v1alpha1";
export const STATICSITE_API_VERSION = `${STATICSITE_GROUP}/${STATICSITE_VERSION}`;
export const STATICSITE_PLURAL = "staticsites";
export const STATICSITE_SINGULAR = "staticsite";
export const STATICSITE_KIND = "StaticSite";
export const STATICSITE_LIST_KIND = "StaticSiteList";
export const STATICSITE_SHORT_NAME = "ss";
export const STATICSITE_CRD_NAME = `${STATICSITE_PLURAL}.${STATICSITE_GROUP}`;

export const FIELD_MANAGER_DASHBOARD = "pagoda-dashboard";
export const FIELD_MANAGER_OPERATOR = "pagoda-operator";

export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const LABEL_MANAGED_BY_VALUE = "pagoda";
export const LABEL_NAME = "app.kubernetes.io/name";
export const LABEL_TENANT = "pagoda.dev/tenant";
/** Selector for everything the operator creates. */
export const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${LABEL_MANAGED_BY_VALUE}`;

/** Pod template annotations; a change of either rolls the Deployment. */
export const ANNOTATION_DIGEST = "pagoda.dev/digest";
export const ANNOTATION_CONFIG_HASH = "pagoda.dev/config-hash";
/** Hash of what the operator last applied to a child, to notice changes of its own intent. */
export const ANNOTATION_APPLIED_HASH = "pagoda.dev/applied-hash";

/**
 * Requests and limits of every container of a site pod (the fetch init
 * container and nginx alike), so that one pod asks for exactly one
 * container's worth. The tenant namespace's ResourceQuota and LimitRange are
 * computed from the same figures.
 */
export const SITE_CONTAINER_RESOURCES = {
  requests: { cpuMillis: 10, memoryMiB: 16 },
  limits: { cpuMillis: 500, memoryMiB: 64 },
} as const;
/** Extra pods a rollout may run (the Deployment's maxSurge). */
export const SITE_ROLLOUT_SURGE = 1;

export const REPLICAS_MIN = 1;
export const REPLICAS_MAX = 10;
export const REPLICAS_DEFAULT = 1;
export const HOSTS_MAX = 20;
export const HOST_MAX_LENGTH = 253;
export const NOT_FOUND_PAGE_MAX_LENGTH = 256;
export const ARTIFACT_URL_MAX_LENGTH = 4096;
/** Child objects are named after the site; Services need a DNS-1035 label, and suffixes need room. */
export const SITE_NAME_MAX_LENGTH = 40;

// Patterns are written for both JavaScript and the API server's RE2: no
// lookarounds, no backreferences.
export const DIGEST_PATTERN = "^sha256:[a-f0-9]{64}$";
export const HOST_PATTERN = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$";
export const NOT_FOUND_PAGE_PATTERN = "^/[A-Za-z0-9._~/-]*$";
export const SITE_NAME_PATTERN = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
export const TENANT_PATTERN = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
export const ARTIFACT_URL_PATTERN = "^https?://[^\\s]+$";

export const DIGEST_RE = new RegExp(DIGEST_PATTERN);
export const HOST_RE = new RegExp(HOST_PATTERN);
export const NOT_FOUND_PAGE_RE = new RegExp(NOT_FOUND_PAGE_PATTERN);
export const SITE_NAME_RE = new RegExp(SITE_NAME_PATTERN);
export const TENANT_RE = new RegExp(TENANT_PATTERN);
export const ARTIFACT_URL_RE = new RegExp(ARTIFACT_URL_PATTERN);

export interface StaticSiteArtifact {
  /** Where pods download the gzip'd tarball from (a signed URL of the dashboard's artifact endpoint). */
  url: string;
  /** `sha256:<hex>` of the tarball; pods refuse to serve anything else. */
  digest: string;
}

export interface StaticSiteSpec {
  artifact: StaticSiteArtifact;
  /** Public DNS names served by the site's Ingress. */
  hosts?: string[];
  /** 1..10, default 1. */
  replicas?: number;
  /** Serve /index.html for paths that match no file (client-side routing). */
  spa?: boolean;
  /** Page served with status 404 for paths that match no file, e.g. `/404.html`. */
  notFoundPage?: string;
  /** Scale to zero and withdraw the Ingress, keeping the object and its history. */
  suspend?: boolean;
  /** Tenant slug for labels; defaults to the namespace. Immutable. */
  tenant?: string;
}

export type ConditionStatus = "True" | "False" | "Unknown";

/** Same shape as metav1.Condition. */
export interface StaticSiteCondition {
  type: StaticSiteConditionType;
  status: ConditionStatus;
  observedGeneration?: number;
  /** RFC 3339; changes only when `status` flips. */
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export const CONDITION_READY = "Ready";
export const CONDITION_PROGRESSING = "Progressing";
export const CONDITION_DEGRADED = "Degraded";
export type StaticSiteConditionType = typeof CONDITION_READY | typeof CONDITION_PROGRESSING | typeof CONDITION_DEGRADED;

export interface StaticSiteStatus {
  observedGeneration?: number;
  conditions?: StaticSiteCondition[];
  /** Pods the Deployment currently has (all versions). */
  replicas?: number;
  readyReplicas?: number;
  /** Where the site answers: https://<first host> or the in-cluster Service URL. */
  url?: string;
  /** The digest that is fully rolled out and Ready; the deploy that is live. */
  currentDigest?: string;
  /** First 12 hex digits of currentDigest, for `kubectl get`. */
  shortDigest?: string;
}

/**
 * Object metadata; name and namespace are always set on a stored StaticSite.
 * Timestamps are Date per the client's types, but objects read through the
 * custom-objects API carry them as RFC 3339 strings.
 */
export type StaticSiteMetadata = V1ObjectMeta & { name: string; namespace: string };

export interface StaticSite {
  apiVersion: typeof STATICSITE_API_VERSION;
  kind: typeof STATICSITE_KIND;
  metadata: StaticSiteMetadata;
  spec: StaticSiteSpec;
  status?: StaticSiteStatus;
}

/** `sha256:0123456789ab…` → `0123456789ab`. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

export function siteLabels(site: { metadata: { name: string; namespace: string }; spec: { tenant?: string } }): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: LABEL_MANAGED_BY_VALUE,
    [LABEL_NAME]: site.metadata.name,
    [LABEL_TENANT]: site.spec.tenant ?? site.metadata.namespace,
  };
}

export function findCondition(status: StaticSiteStatus | undefined, type: StaticSiteConditionType): StaticSiteCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * Live means: the operator saw this exact generation, and reports `digest`
 * rolled out and Ready. Anything less is not live.
 */
export function isDigestLive(site: StaticSite, digest: string): boolean {
  const status = site.status;
  if (!status || status.currentDigest !== digest) return false;
  if ((status.observedGeneration ?? -1) < (site.metadata.generation ?? 0)) return false;
  return findCondition(status, CONDITION_READY)?.status === "True";
}
