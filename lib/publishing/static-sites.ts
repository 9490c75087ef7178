// The dashboard's writes to the cluster: tenant namespaces and StaticSite
// specs, with server-side apply as `pagoda-dashboard`. Status belongs to the
// operator and is never written here. Every write is preceded by a read and a
// comparison, so repeating a call with the same input makes no write.

import "server-only";
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Namespace } from "@kubernetes/client-node";
import { isNotFound } from "@/lib/kube/request";
import {
  ARTIFACT_URL_MAX_LENGTH,
  ARTIFACT_URL_RE,
  DIGEST_RE,
  DOMAINS_MAX,
  FIELD_MANAGER_DASHBOARD,
  HOST_MAX_LENGTH,
  HOST_RE,
  LABEL_MANAGED_BY,
  LABEL_MANAGED_BY_VALUE,
  LABEL_NAME,
  LABEL_TENANT,
  NOT_FOUND_PAGE_MAX_LENGTH,
  NOT_FOUND_PAGE_RE,
  PREVIEWS_MAX,
  RULES_TEXT_MAX_LENGTH,
  SITE_NAME_MAX_LENGTH,
  SITE_NAME_RE,
  STATICSITE_API_VERSION,
  STATICSITE_KIND,
  TENANT_RE,
  type ServingMode,
  type StaticSite,
} from "@/lib/staticsite/types";
import { componentLogger } from "@/lib/log";
import { keyOf, keyString } from "@/lib/kube/object-key";
import { defaultHostLabel, hostUnder } from "@/lib/staticsite/site-url";
import { tenantNamespace } from "@/lib/tenancy/slug";
import { STATICSITE_COORDS } from "@/lib/staticsite/client";
import { dashboardRequester } from "./kube-clients";
import { InvalidSiteError, TerminatingError } from "./errors";
import { foreignOwnedExtras, staticSiteDrift } from "./site-drift";
import { ensureTenantLimits } from "./tenant-limits";
import { ensureTenantPolicy, type TenantPolicySettings } from "./tenant-policy";

const log = componentLogger("k8s-dashboard");

/** Id of the Site row a StaticSite was written for; matches objects to rows. */
export const LABEL_SITE_ID = "pagoda.dev/site-id";

/** Everything the dashboard wrote: selects StaticSites carrying a site id. */
export const DASHBOARD_SITE_SELECTOR = `${LABEL_MANAGED_BY}=${LABEL_MANAGED_BY_VALUE},${LABEL_SITE_ID}`;

/** What Postgres says one site should be running. */
export interface DesiredSite {
  /** Site row id. */
  siteId: string;
  tenantSlug: string;
  siteName: string;
  artifact: {
    /** Absolute signed URL of the artifact endpoint. */
    url: string;
    /** `sha256:<hex>` of the promoted deploy. */
    digest: string;
  };
  /** PAGODA_BASE_DOMAIN: the site answers at `<hostLabel>.<baseDomain>`. */
  baseDomain: string;
  /** The row's stored host label; `<site>-<tenant>` when omitted (how rows are created). */
  hostLabel?: string;
  /** The tenant namespace's NetworkPolicy; none is written when null or omitted. */
  tenantPolicy?: TenantPolicySettings | null;
  /** The tenant's site quota, which sizes its namespace's ResourceQuota; the server default when omitted. */
  maxSites?: number;
  /** The Site row's SPA fallback: unknown paths serve /index.html. */
  spa: boolean;
  /** The Site row's custom 404 page (`/404.html`), or none. Never together with `spa`. */
  notFoundPage: string | null;
  /**
   * Text of the promoted deploy's `_redirects` and `_headers` (null: that file
   * is absent), as checked at upload; omitted or null: neither.
   */
  rules?: { redirects: string | null; headers: string | null } | null;
  /** The site's verified custom domains (Domain rows), ASCII; omitted or empty: none. */
  domains?: readonly string[];
  /** The Site row's serving mode; omitted or dedicated: the field is left out, as StaticSites from before the pool read. */
  serving?: ServingMode;
  /** Recent deploys with a preview address, newest first, each with its signed URL; omitted or empty: none. */
  previews?: readonly { url: string; digest: string }[];
}

// Label values: at most 63 characters, alphanumerics with -_. inside.
const LABEL_VALUE_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const NAMESPACE_MAX_LENGTH = 63;

function check(ok: boolean, field: string, message: string): void {
  if (!ok) throw new InvalidSiteError(field, message);
}

/**
 * The StaticSite the dashboard wants for `input`: only the fields the
 * dashboard decides (artifact, its host, tenant, spa, notFoundPage, rules, domains, serving), because
 * an apply owns every field in its body; `suspend`, `replicas` and extra
 * hosts are left to kubectl or GitOps. Pure; refuses input the API server
 * would refuse anyway, with the field that is wrong, so a bad row is
 * reported before any request.
 */
export function desiredStaticSite(input: DesiredSite): StaticSite {
  const { siteId, tenantSlug, siteName, artifact } = input;
  check(LABEL_VALUE_RE.test(siteId), "siteId", `${JSON.stringify(siteId)} cannot be a label value`);
  check(TENANT_RE.test(tenantSlug), "tenantSlug", `${JSON.stringify(tenantSlug)} is not a DNS label`);
  const namespace = tenantNamespace(tenantSlug);
  check(namespace.length <= NAMESPACE_MAX_LENGTH, "tenantSlug", `namespace ${namespace} is longer than ${NAMESPACE_MAX_LENGTH} characters`);
  check(SITE_NAME_RE.test(siteName), "siteName", `${JSON.stringify(siteName)} must start with a letter and contain only a-z, 0-9 and -`);
  check(siteName.length <= SITE_NAME_MAX_LENGTH, "siteName", `${JSON.stringify(siteName)} is longer than ${SITE_NAME_MAX_LENGTH} characters`);
  check(DIGEST_RE.test(artifact.digest), "artifact.digest", `${JSON.stringify(artifact.digest)} is not sha256:<64 hex digits>`);
  check(
    ARTIFACT_URL_RE.test(artifact.url) && artifact.url.length <= ARTIFACT_URL_MAX_LENGTH,
    "artifact.url",
    `must be an absolute http(s) URL of at most ${ARTIFACT_URL_MAX_LENGTH} characters`,
  );
  const host = hostUnder(input.hostLabel ?? defaultHostLabel(siteName, tenantSlug), input.baseDomain);
  check(HOST_RE.test(host) && host.length <= HOST_MAX_LENGTH, "host", `${host} is not a valid DNS name (site label at most 63 characters)`);
  const { notFoundPage } = input;
  if (notFoundPage !== null) {
    check(
      NOT_FOUND_PAGE_RE.test(notFoundPage) && notFoundPage.length <= NOT_FOUND_PAGE_MAX_LENGTH && !notFoundPage.includes("..") && !notFoundPage.endsWith("/"),
      "notFoundPage",
      `${JSON.stringify(notFoundPage)} must be a file path starting with / of at most ${NOT_FOUND_PAGE_MAX_LENGTH} characters`,
    );
    check(!input.spa, "notFoundPage", "cannot be combined with spa: with spa every unknown path serves /index.html");
  }

  return {
    apiVersion: STATICSITE_API_VERSION,
    kind: STATICSITE_KIND,
    metadata: {
      name: siteName,
      namespace,
      labels: {
        [LABEL_MANAGED_BY]: LABEL_MANAGED_BY_VALUE,
        [LABEL_NAME]: siteName,
        [LABEL_TENANT]: tenantSlug,
        [LABEL_SITE_ID]: siteId,
      },
    },
    spec: {
      artifact: { url: artifact.url, digest: artifact.digest },
      hosts: [host],
      tenant: tenantSlug,
      spa: input.spa,
      ...(notFoundPage !== null ? { notFoundPage } : {}),
      ...rulesSpec(input.rules),
      ...domainsSpec(input.domains),
      ...previewsSpec(input.previews),
      // Absent means dedicated, so a dedicated site's object is the same text as before the pool existed.
      ...(input.serving === "shared" ? { serving: "shared" as const } : {}),
    },
  };
}

function rulesSpec(rules: DesiredSite["rules"]): Pick<StaticSite["spec"], "rules"> {
  if (!rules || (rules.redirects === null && rules.headers === null)) return {};
  for (const [field, text] of Object.entries(rules)) {
    if (text !== null)
      check(text.length <= RULES_TEXT_MAX_LENGTH, `rules.${field}`, `is ${text.length} characters; at most ${RULES_TEXT_MAX_LENGTH} fit a StaticSite`);
  }
  return {
    rules: {
      ...(rules.redirects !== null ? { redirects: rules.redirects } : {}),
      ...(rules.headers !== null ? { headers: rules.headers } : {}),
    },
  };
}

function previewsSpec(previews: DesiredSite["previews"]): Pick<StaticSite["spec"], "previews"> {
  if (!previews || previews.length === 0) return {};
  check(previews.length <= PREVIEWS_MAX, "previews", `has ${previews.length} deploys; at most ${PREVIEWS_MAX} fit a StaticSite`);
  for (const { url, digest } of previews) {
    check(DIGEST_RE.test(digest), "previews", `${JSON.stringify(digest)} is not sha256:<64 hex digits>`);
    check(
      ARTIFACT_URL_RE.test(url) && url.length <= ARTIFACT_URL_MAX_LENGTH,
      "previews",
      `must be absolute http(s) URLs of at most ${ARTIFACT_URL_MAX_LENGTH} characters`,
    );
  }
  check(new Set(previews.map((p) => p.digest)).size === previews.length, "previews", "lists a digest twice");
  return { previews: previews.map(({ url, digest }) => ({ url, digest })) };
}

function domainsSpec(domains: DesiredSite["domains"]): Pick<StaticSite["spec"], "domains"> {
  if (!domains || domains.length === 0) return {};
  check(domains.length <= DOMAINS_MAX, "domains", `has ${domains.length} names; at most ${DOMAINS_MAX} fit a StaticSite`);
  for (const name of domains)
    check(HOST_RE.test(name) && name.length <= HOST_MAX_LENGTH, "domains", `${JSON.stringify(name)} is not a lower-case ASCII DNS name`);
  // Sorted, so the same set never reads as drift.
  return { domains: [...new Set(domains)].sort() };
}

/**
 * Pod Security admission version the tenant namespaces are held to. Pinned,
 * so that a cluster upgrade cannot start refusing site pods by itself; warn
 * and audit follow the newest rules, so a change shows up before it bites.
 */
export const POD_SECURITY_VERSION = "v1.35";

export function tenantNamespaceLabels(tenantSlug: string): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: LABEL_MANAGED_BY_VALUE,
    [LABEL_TENANT]: tenantSlug,
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": POD_SECURITY_VERSION,
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/audit-version": "latest",
  };
}

/** True when the live namespace lacks one of our labels. */
export function namespaceNeedsApply(live: V1Namespace, tenantSlug: string): boolean {
  const labels = live.metadata?.labels ?? {};
  return Object.entries(tenantNamespaceLabels(tenantSlug)).some(([k, v]) => labels[k] !== v);
}

export interface WriteResult<T> {
  /** The object as stored after the call. */
  object: T;
  /** False when the live object already matched and nothing was sent. */
  written: boolean;
}

/**
 * Creates or labels the tenant's namespace (Pod Security `restricted`),
 * writes its ResourceQuota and LimitRange (sized for `maxSites`), and its
 * NetworkPolicy when `policy` is given; no write when all already match.
 */
export async function ensureTenantNamespace(
  kc: KubeConfig,
  tenantSlug: string,
  policy?: TenantPolicySettings | null,
  maxSites?: number,
): Promise<WriteResult<V1Namespace>> {
  check(TENANT_RE.test(tenantSlug), "tenantSlug", `${JSON.stringify(tenantSlug)} is not a DNS label`);
  const name = tenantNamespace(tenantSlug);
  const kube = dashboardRequester(kc);
  const core = kube.client(CoreV1Api);
  let live: V1Namespace | null = null;
  try {
    live = await kube.call(`reading Namespace ${name}`, () => core.readNamespace({ name }));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (live?.metadata?.deletionTimestamp) throw new TerminatingError(`Namespace ${name}`);
  if (live && !namespaceNeedsApply(live, tenantSlug)) {
    const limitsWritten = await ensureTenantLimits(kc, name, maxSites);
    const policyWritten = policy ? await ensureTenantPolicy(kc, name, policy) : false;
    return { object: live, written: limitsWritten || policyWritten };
  }

  const applied = await kube.call(`applying Namespace ${name}`, () =>
    core.patchNamespace(
      {
        name,
        body: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: tenantNamespaceLabels(tenantSlug) } },
        fieldManager: FIELD_MANAGER_DASHBOARD,
        force: true,
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    ),
  );
  log.info({ namespace: name, tenant: tenantSlug, created: !live }, live ? "tenant namespace labelled" : "tenant namespace created");
  await ensureTenantLimits(kc, name, maxSites);
  if (policy) await ensureTenantPolicy(kc, name, policy);
  return { object: applied, written: true };
}

async function serverSideApply(kc: KubeConfig, desired: StaticSite, resourceVersion?: string): Promise<StaticSite> {
  const { namespace, name } = desired.metadata;
  // A resourceVersion in an apply body is a precondition: 409 if the object changed since.
  const metadata = { name, namespace, labels: desired.metadata.labels, ...(resourceVersion ? { resourceVersion } : {}) };
  const kube = dashboardRequester(kc);
  return (await kube.call(`applying StaticSite ${namespace}/${name}`, () =>
    kube.client(CustomObjectsApi).patchNamespacedCustomObject(
      {
        ...STATICSITE_COORDS,
        namespace,
        name,
        body: { apiVersion: desired.apiVersion, kind: desired.kind, metadata, spec: desired.spec },
        fieldManager: FIELD_MANAGER_DASHBOARD,
        // The body holds only the dashboard's own fields (see desiredStaticSite);
        // force takes those back from whoever edited them, and no other.
        force: true,
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    ),
  )) as StaticSite;
}

/**
 * Deletes spec fields another manager set (a merge patch of nulls), before an
 * apply that leaves them out: the apply alone would keep them, and a kept
 * `notFoundPage` next to `spa: true` would even make the API server refuse it.
 */
async function removeSpecFields(kc: KubeConfig, desired: StaticSite, paths: readonly (readonly string[])[], resourceVersion?: string): Promise<StaticSite> {
  const { namespace, name } = desired.metadata;
  const spec: Record<string, unknown> = {};
  for (const path of paths) {
    let node = spec;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1] as string] = null;
  }
  const kube = dashboardRequester(kc);
  const removed = (await kube.call(`removing hand-set fields of StaticSite ${namespace}/${name}`, () =>
    kube.client(CustomObjectsApi).patchNamespacedCustomObject(
      {
        ...STATICSITE_COORDS,
        namespace,
        name,
        body: { metadata: resourceVersion ? { resourceVersion } : {}, spec },
        fieldManager: FIELD_MANAGER_DASHBOARD,
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    ),
  )) as StaticSite;
  log.info({ namespace, site: name, fields: paths.map((p) => `spec.${p.join(".")}`) }, "StaticSite fields set by hand removed");
  return removed;
}

export interface ApplyOverOptions {
  /**
   * Write only if the object is still the `live` one (its resourceVersion);
   * a 409 Conflict otherwise. restoreSites uses it so that a state read
   * before a concurrent promote can never overwrite that promote.
   */
  ifUnchanged?: boolean;
}

/**
 * Brings one StaticSite to `desired` given what is live (null: absent).
 * Exported for restoreSites, which already holds the live objects.
 */
export async function applyStaticSiteOver(
  kc: KubeConfig,
  desired: StaticSite,
  live: StaticSite | null,
  opts: ApplyOverOptions = {},
): Promise<WriteResult<StaticSite>> {
  if (live?.metadata.deletionTimestamp) throw new TerminatingError(`StaticSite ${keyString(keyOf(live))}`);
  const drift = live ? staticSiteDrift(desired, live) : ["(absent)"];
  if (drift.length === 0 && live) return { object: live, written: false };

  let resourceVersion = opts.ifUnchanged ? live?.metadata.resourceVersion : undefined;
  const foreign = live ? foreignOwnedExtras(desired, live, FIELD_MANAGER_DASHBOARD) : [];
  if (foreign.length > 0) resourceVersion = (await removeSpecFields(kc, desired, foreign, resourceVersion)).metadata.resourceVersion ?? resourceVersion;
  const stored = await serverSideApply(kc, desired, resourceVersion);
  log.info(
    {
      namespace: desired.metadata.namespace,
      site: desired.metadata.name,
      siteId: desired.metadata.labels?.[LABEL_SITE_ID],
      drift,
      digest: desired.spec.artifact.digest,
    },
    live ? "StaticSite updated" : "StaticSite created",
  );
  return { object: stored, written: true };
}

/**
 * Makes the StaticSite equal to `desired` (from desiredStaticSite): reads it,
 * and writes only when spec or our labels differ. The namespace must exist
 * (ensureTenantNamespace).
 */
export async function applyStaticSite(kc: KubeConfig, desired: StaticSite): Promise<WriteResult<StaticSite>> {
  const { namespace, name } = desired.metadata;
  const live = await getStaticSiteIn(kc, namespace, name);
  return applyStaticSiteOver(kc, desired, live);
}

async function getStaticSiteIn(kc: KubeConfig, namespace: string, name: string): Promise<StaticSite | null> {
  const kube = dashboardRequester(kc);
  try {
    return (await kube.call(`reading StaticSite ${namespace}/${name}`, () =>
      kube.client(CustomObjectsApi).getNamespacedCustomObject({ ...STATICSITE_COORDS, namespace, name }),
    )) as StaticSite;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/**
 * Deletes the StaticSite; false when it was already gone. Background
 * propagation: the object disappears at once (so the name can be reused and
 * watchers see the deletion immediately) and the garbage collector removes
 * the Deployment, Service, Ingress and the rest through their owner
 * references afterwards. Foreground would keep a terminating StaticSite
 * around until every pod has stopped, which blocks re-creating the site and
 * gains the dashboard nothing: the row is already gone.
 */
export async function deleteStaticSiteIn(
  kc: KubeConfig,
  namespace: string,
  name: string,
  /** Delete only this exact object (409 Conflict if it was re-created or changed since it was read). */
  ifUnchanged?: { uid?: string; resourceVersion?: string },
): Promise<boolean> {
  const kube = dashboardRequester(kc);
  try {
    await kube.call(`deleting StaticSite ${namespace}/${name}`, () =>
      kube.client(CustomObjectsApi).deleteNamespacedCustomObject({
        ...STATICSITE_COORDS,
        namespace,
        name,
        propagationPolicy: "Background",
        ...(ifUnchanged ? { body: { preconditions: ifUnchanged } } : {}),
      }),
    );
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  log.info({ namespace, site: name }, "StaticSite deleted");
  return true;
}

export function deleteStaticSite(kc: KubeConfig, tenantSlug: string, siteName: string): Promise<boolean> {
  return deleteStaticSiteIn(kc, tenantNamespace(tenantSlug), siteName);
}

/**
 * What promoting or rolling back a deploy needs: the tenant's namespace and
 * the site's StaticSite pointing at the deploy's artifact. Each step writes
 * only if something differs, so calling it again is cheap and harmless.
 */
export async function publishSite(kc: KubeConfig, input: DesiredSite): Promise<WriteResult<StaticSite>> {
  const desired = desiredStaticSite(input);
  await ensureTenantNamespace(kc, input.tenantSlug, input.tenantPolicy, input.maxSites);
  return applyStaticSite(kc, desired);
}
