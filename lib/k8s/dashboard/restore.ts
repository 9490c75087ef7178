// Makes the cluster match Postgres: every site with a promoted deploy has its
// StaticSite (and tenant namespace) as the dashboard would write it, and no
// StaticSite written by the dashboard survives its row. Run at start and
// periodically; in steady state it reads two lists and writes nothing.
import type { KubeConfig, V1Namespace } from "@kubernetes/client-node";
import { LABEL_MANAGED_BY, LABEL_MANAGED_BY_VALUE, type StaticSite } from "@/lib/k8s/staticsite";
import { componentLogger } from "@/lib/log";
import { tenantNamespace } from "@/lib/tenancy/slug";
import { apisFor, listStaticSites } from "./api";
import { InvalidSiteError, KubeRequestError, kubeRequest } from "./errors";
import {
  applyStaticSiteOver,
  DASHBOARD_SITE_SELECTOR,
  deleteStaticSiteIn,
  desiredStaticSite,
  ensureTenantNamespace,
  LABEL_SITE_ID,
  namespaceNeedsApply,
  type DesiredSite,
} from "./sites";

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
  /** StaticSites that already matched (no write). */
  unchanged: number;
  /** Orphaned StaticSites deleted. */
  deleted: number;
  /** Namespaces created or labelled. */
  namespacesApplied: number;
  errors: RestoreError[];
}

export interface RestoreOptions {
  /** Sites written at once. */
  concurrency?: number;
}

function errorOf(action: RestoreError["action"], err: unknown, where: Omit<RestoreError, "action" | "message" | "statusCode">): RestoreError {
  const statusCode = err instanceof KubeRequestError ? err.statusCode : undefined;
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

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * Objects are matched to rows by namespace/name: a StaticSite whose name no
 * desired site claims is an orphan, and a desired site whose object carries
 * another site id (a site deleted and re-created under the same name) is
 * simply re-applied, taking the new id. Only objects carrying a site id label
 * are ever deleted, so StaticSites made by hand are left alone. Namespaces
 * are never deleted here: that would take everything in them along.
 *
 * `desired` lists every site that has a promoted deploy, from Postgres.
 */
export async function restoreSites(kc: KubeConfig, desired: readonly DesiredSite[], opts: RestoreOptions = {}): Promise<RestoreResult> {
  const result: RestoreResult = { applied: 0, unchanged: 0, deleted: 0, namespacesApplied: 0, errors: [] };
  const fail = (e: RestoreError): void => {
    result.errors.push(e);
    log.error(e, `restore: ${e.action} failed`);
  };

  const wanted = new Map<string, { input: DesiredSite; object: StaticSite }>();
  // Every name a row asks for, even one we cannot build: a row with a bad
  // value is an error to report, not a reason to take its live site down.
  const claimed = new Set<string>();
  for (const input of desired) {
    claimed.add(key(tenantNamespace(input.tenantSlug), input.siteName));
    try {
      const object = desiredStaticSite(input);
      const k = key(object.metadata.namespace, object.metadata.name);
      const other = wanted.get(k);
      if (other) {
        fail({ action: "build", siteId: input.siteId, namespace: object.metadata.namespace, name: object.metadata.name, message: `site ${k} is listed twice (rows ${other.input.siteId} and ${input.siteId}); keeping the first` });
        continue;
      }
      wanted.set(k, { input, object });
    } catch (err) {
      if (!(err instanceof InvalidSiteError)) throw err;
      fail(errorOf("build", err, { siteId: input.siteId, namespace: tenantNamespace(input.tenantSlug), name: input.siteName }));
    }
  }

  // Two reads give the whole picture; everything after is a write that is needed.
  let live: StaticSite[];
  let labelledNamespaces: Map<string, V1Namespace>;
  try {
    live = (await listStaticSites(kc, DASHBOARD_SITE_SELECTOR)).items;
    const nsList = await kubeRequest("listing pagoda namespaces", () =>
      apisFor(kc).core.listNamespace({ labelSelector: `${LABEL_MANAGED_BY}=${LABEL_MANAGED_BY_VALUE}` }),
    );
    labelledNamespaces = new Map(nsList.items.map((ns) => [ns.metadata?.name ?? "", ns]));
  } catch (err) {
    fail(errorOf("list", err, {}));
    return result;
  }
  const liveByKey = new Map(live.map((ss) => [key(ss.metadata.namespace, ss.metadata.name), ss]));

  // Namespaces first: a site cannot be written into a namespace that does not exist.
  const tenants = [...new Set([...wanted.values()].map((w) => w.input.tenantSlug))];
  const brokenTenants = new Set<string>();
  await eachLimited(tenants, opts.concurrency ?? 4, async (tenant) => {
    const ns = labelledNamespaces.get(tenantNamespace(tenant));
    if (ns && !namespaceNeedsApply(ns, tenant) && !ns.metadata?.deletionTimestamp) return;
    try {
      if ((await ensureTenantNamespace(kc, tenant)).written) result.namespacesApplied++;
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
      const { written } = await applyStaticSiteOver(kc, object, liveByKey.get(k) ?? null);
      if (written) result.applied++;
      else result.unchanged++;
    } catch (err) {
      fail(errorOf("apply", err, where));
    }
  });

  const orphans = live.filter((ss) => !claimed.has(key(ss.metadata.namespace, ss.metadata.name)) && !ss.metadata.deletionTimestamp);
  await eachLimited(orphans, opts.concurrency ?? 4, async (ss) => {
    const where = { siteId: ss.metadata.labels?.[LABEL_SITE_ID] ?? "", namespace: ss.metadata.namespace, name: ss.metadata.name };
    try {
      if (await deleteStaticSiteIn(kc, ss.metadata.namespace, ss.metadata.name)) {
        result.deleted++;
        log.info(where, "restore: orphaned StaticSite deleted (its site has no promoted deploy or no longer exists)");
      }
    } catch (err) {
      fail(errorOf("delete", err, where));
    }
  });

  if (result.applied || result.deleted || result.namespacesApplied || result.errors.length) {
    log.info({ ...result, errors: result.errors.length }, "restore finished with changes");
  } else {
    log.debug({ unchanged: result.unchanged }, "restore: cluster already matches");
  }
  return result;
}
