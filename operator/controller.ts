// Wires the pieces into a running operator: watch caches feed keys into the
// work queue, the queue runs reconciles while this instance leads, a resync
// timer re-checks every site periodically, and a small HTTP server reports
// health and metrics.
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Deployment,
  type V1Ingress,
  type V1Namespace,
  type V1Pod,
  type V1PodDisruptionBudget,
  type V1Service,
} from "@kubernetes/client-node";
import type pino from "pino";
import { componentLogger } from "@/lib/log";
import {
  LABEL_NAME,
  MANAGED_SELECTOR,
  STATICSITE_GROUP,
  STATICSITE_KIND,
  STATICSITE_PLURAL,
  STATICSITE_VERSION,
  type StaticSite,
} from "@/lib/staticsite/types";
import type { OperatorConfig } from "./config";
import { startHealthServer, type Readiness } from "../lib/kube/health-server";
import { trimObject, trimPod } from "./cache-trim";
import { KubeApi, operatorKubeConfig } from "./kube-api";
import { apiErrorMessage } from "@/lib/kube/request";
import { listStaticSites } from "@/lib/staticsite/client";
import { pooledKubeConfig } from "@/lib/kube/connection";
import { LeaderElector } from "../lib/kube/leader-election";
import { createMetrics, type OperatorMetrics } from "./metrics";
import { childNames, effectiveHosts } from "./children";
import { createdAtMs, decideHosts, hostAllowed, HostClaims, type HostClaim } from "./hosts";
import { parseKey, Reconciler, siteKey, type Caches, type SiteScope } from "./reconcile";
import { WatchCache, type WatchVerb } from "../lib/kube/informer";
import { WorkQueue } from "../lib/kube/workqueue";

export interface StartOptions {
  /** Use this instead of loading a kubeconfig from the config / environment. */
  kubeConfig?: KubeConfig;
  log?: pino.Logger;
  /** Register process-level metrics (CPU, memory, event loop); off for in-process test instances. */
  defaultMetrics?: boolean;
}

export interface RunningOperator {
  /** Port of the health/metrics server (useful when config.port is 0). */
  port: number;
  metrics: OperatorMetrics;
  isLeader(): boolean;
  readiness(): Readiness;
  /** Resolves when no reconcile is waiting or running. */
  idle(): Promise<void>;
  /** Graceful: stop reconciling, release the lease, stop watches and the server. */
  stop(): Promise<void>;
}

function ownerKey(obj: KubernetesObject): string | undefined {
  const ns = obj.metadata?.namespace;
  if (!ns) return undefined;
  const owner = obj.metadata?.ownerReferences?.find((r) => r.controller && r.kind === STATICSITE_KIND);
  if (owner) return siteKey(ns, owner.name);
  const name = obj.metadata?.labels?.[LABEL_NAME];
  return name ? siteKey(ns, name) : undefined;
}

export async function startOperator(config: OperatorConfig, opts: StartOptions = {}): Promise<RunningOperator> {
  const log = opts.log ?? componentLogger("operator");
  const connection = pooledKubeConfig(opts.kubeConfig ?? operatorKubeConfig(config));
  const kc = connection.kc;
  const metrics = createMetrics({ defaultMetrics: opts.defaultMetrics ?? false });
  const api = new KubeApi(kc, metrics, { requestTimeoutMs: config.apiTimeoutMs });

  const queue = new WorkQueue({
    concurrency: config.concurrency,
    backoffBaseMs: config.backoffBaseMs,
    backoffMaxMs: config.backoffMaxMs,
    // Handlers run only after start(), by which time the reconciler exists.
    handler: (key) => reconciler.reconcile(key),
    onDone: (_key, outcome, ms) => {
      metrics.reconciles.inc({ result: outcome });
      metrics.reconcileDuration.observe({ result: outcome }, ms / 1000);
    },
    onError: (key, err, retryInMs, failures) => {
      const { statusCode: code, timedOut } = err as { statusCode?: number; timedOut?: boolean };
      const reason = timedOut ? "timeout" : code ? `http_${code}` : "other";
      metrics.reconcileErrors.inc({ reason });
      log.warn({ site: key, err: apiErrorMessage(err), retryInMs, failures }, "reconcile failed; will retry");
    },
  });

  const enqueueChild = (kind: string) => (_verb: WatchVerb, obj: KubernetesObject) => {
    const key = ownerKey(obj);
    if (!key) return;
    reconciler.observed(key, kind);
    queue.add(key);
    // An Ingress that appears or goes changes who serves its hosts.
    if (kind === "Ingress") for (const other of claims.neighboursOf(key)) enqueueIfManaged(other);
  };

  function cache<T extends KubernetesObject>(
    kind: string,
    path: string,
    list: (labelSelector?: string) => Promise<KubernetesListObject<T>>,
    onEvent: (verb: WatchVerb, obj: T) => void,
    // Explicit, not a default: `undefined` passed for a defaulted parameter would select the default.
    labelSelector: string | undefined,
    trim: (obj: T) => void = trimObject,
  ): WatchCache<T> {
    return new WatchCache<T>({ kind, path, list, labelSelector, kc, metrics, log, onEvent, trim });
  }

  const counted = <T>(kind: string, fn: () => Promise<T>) => api.call("list", kind, false, `listing ${kind}s`, fn);

  // Pagoda's namespaces, from a watch filtered by the API server: StaticSites
  // elsewhere are cached (one cluster-wide watch is far cheaper than one per
  // namespace) but never reconciled, and claim no host. A namespace that
  // stops matching the selector arrives as a deletion.
  const pagodaNamespaces = new Set<string>();
  const claims = new HostClaims();
  const inScope = (claim: Pick<HostClaim, "namespace">) => pagodaNamespaces.has(claim.namespace);
  const enqueueIfManaged = (key: string) => {
    if (pagodaNamespaces.has(parseKey(key).namespace)) queue.add(key);
  };
  const claimOf = (site: StaticSite): HostClaim => ({
    key: siteKey(site.metadata.namespace, site.metadata.name),
    namespace: site.metadata.namespace,
    name: site.metadata.name,
    uid: site.metadata.uid ?? "",
    createdAt: createdAtMs(site.metadata.creationTimestamp),
    hosts: effectiveHosts(site, config).filter((h) => hostAllowed(h, config.baseDomain)),
  });
  // A site serves a host when its own Ingress (controlled by it, as stored in
  // the API server) has a rule for it: the incumbent keeps the host.
  const serving = (claim: HostClaim, host: string): boolean => {
    const ing = ingresses.get(childNames(claim.name).ingress, claim.namespace);
    const owned = ing?.metadata?.ownerReferences?.some((r) => r.controller && r.kind === STATICSITE_KIND && r.name === claim.name && r.uid === claim.uid);
    return !!owned && !!ing?.spec?.rules?.some((r) => r.host === host);
  };
  const scope: SiteScope = {
    baseDomain: config.baseDomain,
    managesNamespace: (namespace) => pagodaNamespaces.has(namespace),
    decideHosts: (site) =>
      decideHosts(siteKey(site.metadata.namespace, site.metadata.name), effectiveHosts(site, config), config.baseDomain, claims, inScope, serving),
  };

  const sites = cache<StaticSite>(
    STATICSITE_KIND,
    `/apis/${STATICSITE_GROUP}/${STATICSITE_VERSION}/${STATICSITE_PLURAL}`,
    async () => {
      const { items, resourceVersion } = await listStaticSites(api.requester);
      return { apiVersion: `${STATICSITE_GROUP}/${STATICSITE_VERSION}`, kind: "StaticSiteList", metadata: { resourceVersion }, items };
    },
    (verb, site) => {
      const key = siteKey(site.metadata.namespace, site.metadata.name);
      reconciler.observed(key, STATICSITE_KIND);
      if (verb === "delete") {
        queue.forget(key);
        reconciler.forget(key);
        // The next claimant of each of its hosts may now hold it.
        for (const other of claims.remove(key)) enqueueIfManaged(other);
        return;
      }
      for (const other of claims.set(claimOf(site))) enqueueIfManaged(other);
      enqueueIfManaged(key);
    },
    undefined,
  );
  const namespaces = cache<V1Namespace>(
    "Namespace",
    "/api/v1/namespaces",
    (labelSelector) =>
      counted("Namespace", () => api.objects.list<V1Namespace>("v1", "Namespace", undefined, undefined, undefined, undefined, undefined, labelSelector)),
    (verb, ns) => {
      const name = ns.metadata?.name;
      // Updates of a namespace that still matches change nothing here.
      if (!name || verb === "update") return;
      if (verb === "delete") pagodaNamespaces.delete(name);
      else pagodaNamespaces.add(name);
      // Its sites start or stop claiming hosts: theirs and their rivals' decisions may change.
      for (const site of sites.list(name)) {
        const key = siteKey(name, site.metadata.name);
        enqueueIfManaged(key);
        for (const other of claims.neighboursOf(key)) enqueueIfManaged(other);
      }
    },
    config.namespaceSelector,
  );
  // Children: only what this operator labelled, in all namespaces.
  const childCache = <T extends KubernetesObject>(kind: string, apiVersion: string, path: string, trim?: (obj: T) => void) =>
    cache<T>(
      kind,
      path,
      (labelSelector) => counted(kind, () => api.objects.list<T>(apiVersion, kind, undefined, undefined, undefined, undefined, undefined, labelSelector)),
      enqueueChild(kind),
      MANAGED_SELECTOR,
      trim,
    );
  const deployments = childCache<V1Deployment>("Deployment", "apps/v1", "/apis/apps/v1/deployments");
  const configMaps = childCache<V1ConfigMap>("ConfigMap", "v1", "/api/v1/configmaps");
  const services = childCache<V1Service>("Service", "v1", "/api/v1/services");
  const ingresses = childCache<V1Ingress>("Ingress", "networking.k8s.io/v1", "/apis/networking.k8s.io/v1/ingresses");
  const pdbs = childCache<V1PodDisruptionBudget>("PodDisruptionBudget", "policy/v1", "/apis/policy/v1/poddisruptionbudgets");
  const pods = childCache<V1Pod>("Pod", "v1", "/api/v1/pods", trimPod);
  const all = [sites, namespaces, deployments, configMaps, services, ingresses, pdbs, pods] as WatchCache<KubernetesObject>[];

  const caches: Caches = { sites, deployments, configMaps, services, ingresses, pdbs, pods };
  const reconciler = new Reconciler({ api, caches, config, scope, log, identity: config.identity });

  let leader = !config.leaderElection;
  let started = false;
  const readiness = (): Readiness => {
    const reasons: string[] = [];
    const now = Date.now();
    for (const c of all) {
      if (!c.synced) reasons.push(`${c.kind} cache not synced${c.lastError ? `: ${c.lastError}` : ""}`);
      else if (c.lastError && now - c.lastContact > config.watchStallMs) {
        reasons.push(`${c.kind} watch down for ${Math.round((now - c.lastContact) / 1000)} s: ${c.lastError}`);
      }
    }
    if (!started) reasons.push("starting");
    return { ready: reasons.length === 0, reasons };
  };

  const server = await startHealthServer({
    port: config.port,
    registry: metrics.registry,
    readiness,
    beforeMetrics: () => {
      metrics.queueDepth.set(queue.depth());
      metrics.queueActive.set(queue.activeCount());
      metrics.managedSites.set(sites.list().filter((s) => pagodaNamespaces.has(s.metadata.namespace)).length);
      metrics.isLeader.set(leader ? 1 : 0);
    },
  });

  const enqueueAll = () => {
    for (const s of sites.list()) enqueueIfManaged(siteKey(s.metadata.namespace, s.metadata.name));
  };

  try {
    await Promise.all(all.map((c) => c.start()));
  } catch (err) {
    await Promise.all(all.map((c) => c.stop()));
    await server.close();
    await connection.close();
    throw err;
  }
  log.info({ sites: sites.list().length, namespaces: pagodaNamespaces.size, namespaceSelector: config.namespaceSelector }, "caches synced");

  const resync = setInterval(enqueueAll, config.resyncMs);
  resync.unref();

  let elector: LeaderElector | undefined;
  if (config.leaderElection) {
    elector = new LeaderElector({
      requester: api.requester,
      namespace: config.leaseNamespace,
      name: config.leaseName,
      identity: config.identity,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.leaseRenewMs,
      retryPeriodMs: Math.max(200, Math.floor(config.leaseDurationMs / 5)),
      log,
      onStartedLeading: () => {
        leader = true;
        metrics.isLeader.set(1);
        enqueueAll();
        queue.start();
      },
      onStoppedLeading: async () => {
        leader = false;
        metrics.isLeader.set(0);
        await queue.pause();
      },
    });
    elector.start();
  } else {
    enqueueAll();
    queue.start();
  }
  started = true;

  let stopping: Promise<void> | undefined;
  return {
    port: server.port,
    metrics,
    isLeader: () => leader,
    readiness,
    idle: () => queue.idle(),
    stop: () => {
      stopping ??= (async () => {
        clearInterval(resync);
        if (elector) await elector.stop();
        await queue.stop();
        await Promise.all(all.map((c) => c.stop()));
        await server.close();
        await connection.close();
        log.info("operator stopped");
      })();
      return stopping;
    },
  };
}
