// The StaticSite API shared by the dashboard (which writes specs and reads
// status) and the operator (which reads specs and writes status). The spec and
// status types are inferred from the schemas in schema.ts, which also generate
// the CRD; the names and constants below are the rest of the contract.
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { z } from "zod";
import { CONDITION_READY, type conditionSchema, type artifactSchema, type specSchema, type statusSchema, type domainStatusSchema } from "./schema";

export * from "./schema";
export { SITE_NAME_MAX_LENGTH, SITE_NAME_PATTERN, SITE_NAME_RE } from "./site-name";

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

export type StaticSiteArtifact = z.infer<typeof artifactSchema>;
export type StaticSiteSpec = z.infer<typeof specSchema>;
/** Same shape as metav1.Condition. */
export type StaticSiteCondition = z.infer<typeof conditionSchema>;
export type StaticSiteConditionType = StaticSiteCondition["type"];
export type ConditionStatus = StaticSiteCondition["status"];
export type StaticSiteStatus = z.infer<typeof statusSchema>;
export type StaticSiteDomainStatus = z.infer<typeof domainStatusSchema>;

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
