// Makes the cluster match Postgres: every site with a promoted deploy has its
// StaticSite (and tenant namespace) as the dashboard would write it, and no
// StaticSite written by the dashboard survives its row. Run at start and
// periodically; in steady state it reads two lists and writes nothing.

import "server-only";
import { CoreV1Api, type KubeConfig, type V1Namespace } from "@kubernetes/client-node";
import { LABEL_MANAGED_BY, LABEL_MANAGED_BY_VALUE, type StaticSite } from "@/lib/staticsite/types";
import { componentLogger } from "@/lib/log";
import { backoffDelay } from "@/lib/kube/backoff";
import { keyOf, keyString } from "@/lib/kube/object-key";
import { tenantNamespace } from "@/lib/tenancy/slug";
import { isConflict, KubeApiError } from "@/lib/kube/request";
import { listStaticSites } from "@/lib/staticsite/client";
import { dashboardRequester } from "./kube-clients";
import { InvalidSiteError } from "./errors";
import {
  applyStaticSiteOver,
  DASHBOARD_SITE_SELECTOR,
  deleteStaticSiteIn,
  desiredStaticSite,
  ensureTenantNamespace,
  LABEL_SITE_ID,
  namespaceNeedsApply,
  type DesiredSite,
} from "./static-sites";
import { listTenantLimits, tenantLimitsNeedApply, type LiveTenantLimits } from "./tenant-limits";
import { desiredTenantPolicy, listTenantPolicies, tenantPolicyNeedsApply, type NetworkPolicyObject } from "./tenant-policy";

const log = componentLogger("k8s-restore");

export interface RestoreError {
  action: "build" | "namespace" | "apply" | "delete" | "list";
  /** Row id, when the error concerns a desired site or an object carrying one. */
  siteId?: string;
  namespace?: string;
  name?: string;
  message: string;
  /** HTTP status when the API server answered. */
  statusCode?: number;
}

export interface RestoreResult {
  /** StaticSites created or updated. */
  applied: number;
  /**
   * Left alone because they changed after restore read them (a concurrent
   * promote or delete); the next run looks again. Not an error.
   */
  skipped: number;
  /** StaticSites that already matched (no write). */
  unchanged: number;
  /** Orphaned StaticSites deleted. */
  deleted: number;
  /** Namespaces created or labelled, or whose NetworkPolicy was written. */
  namespacesApplied: number;
  errors: RestoreError[];
}

export interface RestoreOptions {
  /** Sites written at once. */
  concurrency?: number;
}

function errorOf(action: RestoreError["action"], err: unknown, where: Omit<RestoreError, "action" | "message" | "statusCode">): RestoreError {
  const statusCode = err instanceof KubeApiError ? err.statusCode : undefined;
  return {
    action,
    ...where,
    message: err instanceof Error ? err.message : String(err),
    ...(statusCode !== undefined ? { statusCode } : {}),
  };
}

async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** Worth another try soon: throttled, the API server (re)starting, or no connection at all. */
function transient(err: unknown): boolean {
  if (!(err instanceof KubeApiError)) return false;
  const code = err.statusCode;
  return code === undefined || code === 429 || code >= 500;
}

/**
 * The reads decide everything else, and right after an API server start
 * they answer 429 "storage is (re)initializing" for a moment; a few quick
 * retries save a whole restore period.
 */
async function readWithRetry<T>(read: () => Promise<T>, attempts = 4, baseMs = 250): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt >= attempts || !transient(err)) throw err;
      log.warn({ err: err instanceof Error ? err.message : String(err), attempt }, "restore: reading the cluster failed; retrying");
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, { baseMs, maxMs: 2_000 })));
    }
  }
}

/**
 * Objects are matched to rows by namespace/name: a StaticSite whose name no
 * desired site claims is an orphan, and a desired site whose object carries
 * another site id (a site deleted and re-created under the same name) is
 * simply re-applied, taking the new id. Only objects carrying a site id label
 * are ever deleted, so StaticSites made by hand are left alone. Namespaces
 * are never deleted here: that would take everything in them along.
 *
 * `desiredSource` is every site that has a promoted deploy, from Postgres:
 * preferably a function, called after the cluster has been read, so that a
 * site published meanwhile is either in it or not yet in the cluster list
 * (promotes must commit to Postgres before they publish). If it throws,
 * restore throws: acting on no data would delete everything.
 * Writes carry the resourceVersion restore read as a precondition, so a
 * promote or delete that happens during the run is never overwritten; such
 * objects are counted in `skipped` and looked at again next time.
 */
export async function restoreSites(
  kc: KubeConfig,
  desiredSource: readonly DesiredSite[] | (() => Promise<readonly DesiredSite[]>),
  opts: RestoreOptions = {},
): Promise<RestoreResult> {
  const result: RestoreResult = { applied: 0, skipped: 0, unchanged: 0, deleted: 0, namespacesApplied: 0, errors: [] };
  const kube = dashboardRequester(kc);
  // Someone wrote the object after it was read; the next restore sees their write.
  const changedMeanwhile = isConflict;
  const fail = (e: RestoreError): void => {
    result.errors.push(e);
    log.error(e, `restore: ${e.action} failed`);
  };

  // Two reads give the whole picture; everything after is a write that is needed.
  let live: StaticSite[];
  let labelledNamespaces: Map<string, V1Namespace>;
  let liveLimits: Map<string, LiveTenantLimits>;
  try {
    live = (await readWithRetry(() => listStaticSites(kube, { labelSelector: DASHBOARD_SITE_SELECTOR }))).items;
    const nsList = await readWithRetry(() =>
      kube.call("listing pagoda namespaces", () => kube.client(CoreV1Api).listNamespace({ labelSelector: `${LABEL_MANAGED_BY}=${LABEL_MANAGED_BY_VALUE}` })),
    );
    labelledNamespaces = new Map(nsList.items.map((ns) => [ns.metadata?.name ?? "", ns]));
    liveLimits = await readWithRetry(() => listTenantLimits(kc));
  } catch (err) {
    fail(errorOf("list", err, {}));
    return result;
  }
  // Postgres is read after the cluster: a site published before our list was
  // committed before it, so it is in `desired` and cannot be taken for an orphan.
  const desired = typeof desiredSource === "function" ? await desiredSource() : desiredSource;
  // A third read only when tenant namespaces are to carry a NetworkPolicy.
  let livePolicies = new Map<string, NetworkPolicyObject>();
  if (desired.some((d) => d.tenantPolicy)) {
    try {
      livePolicies = await readWithRetry(() => listTenantPolicies(kc));
    } catch (err) {
      fail(errorOf("list", err, {}));
      return result;
    }
  }

  const wanted = new Map<string, { input: DesiredSite; object: StaticSite }>();
  // Every name a row asks for, even one we cannot build: a row with a bad
  // value is an error to report, not a reason to take its live site down.
  const claimed = new Set<string>();
  for (const input of desired) {
    claimed.add(keyString({ namespace: tenantNamespace(input.tenantSlug), name: input.siteName }));
    try {
      const object = desiredStaticSite(input);
      const k = keyString(keyOf(object));
      const other = wanted.get(k);
      if (other) {
        fail({
          action: "build",
          siteId: input.siteId,
          namespace: object.metadata.namespace,
          name: object.metadata.name,
          message: `site ${k} is listed twice (rows ${other.input.siteId} and ${input.siteId}); keeping the first`,
        });
        continue;
      }
      wanted.set(k, { input, object });
    } catch (err) {
      if (!(err instanceof InvalidSiteError)) throw err;
      fail(errorOf("build", err, { siteId: input.siteId, namespace: tenantNamespace(input.tenantSlug), name: input.siteName }));
    }
  }

  const liveByKey = new Map(live.map((ss) => [keyString(keyOf(ss)), ss]));

  // Namespaces first: a site cannot be written into a namespace that does not exist.
  const policyOf = new Map([...wanted.values()].map((w) => [w.input.tenantSlug, w.input.tenantPolicy ?? null]));
  const maxSitesOf = new Map([...wanted.values()].map((w) => [w.input.tenantSlug, w.input.maxSites]));
  const brokenTenants = new Set<string>();
  await eachLimited([...policyOf.keys()], opts.concurrency ?? 4, async (tenant) => {
    const name = tenantNamespace(tenant);
    const ns = labelledNamespaces.get(name);
    const policy = policyOf.get(tenant) ?? null;
    const policyMatches = !policy || !tenantPolicyNeedsApply(livePolicies.get(name) ?? null, desiredTenantPolicy(name, policy));
    const limits = liveLimits.get(name) ?? { quota: null, limitRange: null };
    const limitsMatch = !tenantLimitsNeedApply(name, maxSitesOf.get(tenant), limits);
    if (ns && !namespaceNeedsApply(ns, tenant) && !ns.metadata?.deletionTimestamp && policyMatches && limitsMatch) return;
    try {
      if ((await ensureTenantNamespace(kc, tenant, policy, maxSitesOf.get(tenant))).written) result.namespacesApplied++;
    } catch (err) {
      brokenTenants.add(tenant);
      fail(errorOf("namespace", err, { namespace: tenantNamespace(tenant) }));
    }
  });

  await eachLimited([...wanted.entries()], opts.concurrency ?? 4, async ([k, { input, object }]) => {
    const where = { siteId: input.siteId, namespace: object.metadata.namespace, name: object.metadata.name };
    if (brokenTenants.has(input.tenantSlug)) {
      fail({ action: "apply", ...where, message: `skipped: namespace ${object.metadata.namespace} could not be ensured` });
      return;
    }
    try {
      const { written } = await applyStaticSiteOver(kc, object, liveByKey.get(k) ?? null, { ifUnchanged: true });
      if (written) result.applied++;
      else result.unchanged++;
    } catch (err) {
      if (changedMeanwhile(err)) {
        result.skipped++;
        log.info(where, "restore: StaticSite changed since it was read; leaving it to the next run");
      } else fail(errorOf("apply", err, where));
    }
  });

  const orphans = live.filter((ss) => !claimed.has(keyString(keyOf(ss))) && !ss.metadata.deletionTimestamp);
  await eachLimited(orphans, opts.concurrency ?? 4, async (ss) => {
    const where = { siteId: ss.metadata.labels?.[LABEL_SITE_ID] ?? "", namespace: ss.metadata.namespace, name: ss.metadata.name };
    try {
      const exact = { uid: ss.metadata.uid, resourceVersion: ss.metadata.resourceVersion };
      if (await deleteStaticSiteIn(kc, ss.metadata.namespace, ss.metadata.name, exact)) {
        result.deleted++;
        log.info(where, "restore: orphaned StaticSite deleted (its site has no promoted deploy or no longer exists)");
      }
    } catch (err) {
      if (changedMeanwhile(err)) {
        result.skipped++;
        log.info(where, "restore: orphan changed since it was read; leaving it to the next run");
      } else fail(errorOf("delete", err, where));
    }
  });

  if (result.applied || result.deleted || result.namespacesApplied || result.errors.length) {
    log.info({ ...result, errors: result.errors.length }, "restore finished with changes");
  } else {
    log.debug({ unchanged: result.unchanged }, "restore: cluster already matches");
  }
  return result;
}
