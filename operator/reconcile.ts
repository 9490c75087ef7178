// One reconcile of one StaticSite: read everything from the watch caches,
// apply only the children that differ from what they should be, delete the
// ones that should not exist, then write status only if it changed. The work
// queue guarantees no two reconciles of the same site overlap.
import type { KubernetesObject, V1ConfigMap, V1Deployment, V1Ingress, V1PodDisruptionBudget, V1Pod, V1Service } from "@kubernetes/client-node";
import type pino from "pino";
import { LABEL_NAME, STATICSITE_KIND, type StaticSite, type StaticSiteStatus } from "@/lib/staticsite/types";
import type { Certificate, ChildConfig, CustomDomains } from "./children";
import { certificateName, childNames, desiredChildren, effectiveHosts, RulesInvalidError, siteUrl, type DesiredChildren } from "./children";
import { hostProblem, type DomainDecision, type HostDecision } from "./hosts";
import { needsApply, withAppliedHash } from "./child-drift";
import type { KubeApi } from "./kube-api";
import { certificateState, deriveStatus, domainStatuses, rolloutFacts, statusEqual, transitionEvents, type DomainReport, type TlsMode } from "./status";
import { parseKeyString, type ObjectKey } from "../lib/kube/object-key";
import type { HandlerResult } from "../lib/kube/workqueue";

/**
 * How long a handover between the pool and a site's own pods lasts after
 * the watch shows the Ingress change: Traefik applies provider changes in
 * batches (two seconds apart by default) and other controllers lag too, so
 * the side that is leaving keeps serving until the other is surely routed to.
 */
export const HANDOVER_MS = 5_000;
import type { PartialObjectMetadata } from "../lib/kube/request";
import { isShared, poolEntry } from "./pool/desired";
import { desiredPoolDomainObjects, ownsPoolDomainObject, poolDomainNames } from "./pool/domains";
import { NO_POOL, type SharedPoolView } from "./pool/shared-pool";
import { deriveSharedStatus, poolServesSite, sharedDomainReport } from "./pool/status";

export interface ObjectCache<T> {
  get(key: ObjectKey): T | undefined;
  list(namespace?: string): readonly T[];
}

export interface Caches {
  sites: ObjectCache<StaticSite>;
  deployments: ObjectCache<V1Deployment>;
  configMaps: ObjectCache<V1ConfigMap>;
  services: ObjectCache<V1Service>;
  ingresses: ObjectCache<V1Ingress>;
  pdbs: ObjectCache<V1PodDisruptionBudget>;
  pods: ObjectCache<V1Pod>;
  /** cert-manager's Certificates; absent when the cluster does not serve that kind. */
  certificates?: ObjectCache<Certificate>;
}

/**
 * What this operator wrote last, for the window in which the watch cache has
 * not caught up yet: while the cache still shows the resourceVersion from
 * before the write, the write's result is the truth. Without this, a reconcile
 * triggered in that window would repeat the write.
 */
interface Written<T> {
  beforeResourceVersion: string | undefined;
  result: T;
}

export class WriteMemo {
  private readonly entries = new Map<string, Written<unknown>>();

  remember<T>(key: string, before: KubernetesObject | undefined, result: T): void {
    this.entries.set(key, { beforeResourceVersion: before?.metadata?.resourceVersion, result });
  }

  /** The freshest known state: the cached object, unless it predates our write. */
  freshest<T extends KubernetesObject>(key: string, cached: T | undefined): T | undefined {
    const memo = this.entries.get(key) as Written<T> | undefined;
    if (!memo) return cached;
    if (cached?.metadata?.resourceVersion === memo.beforeResourceVersion) return memo.result;
    this.entries.delete(key);
    return cached;
  }

  /** The watch delivered news of the object: from now on the cache is the truth. */
  invalidate(key: string): void {
    this.entries.delete(key);
  }

  forgetPrefix(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}

/**
 * The resourceVersion at which the answer to a status write of `site` is
 * only our own echo; undefined when the answer is at a newer generation: the
 * spec changed after the reconcile read it. The watch then also reports that
 * change, but a relist after a lost watch reports both as one object, at our
 * write's resourceVersion, and taking it for our echo would leave the new
 * spec unreconciled until the next resync. Not taken for one, that event
 * queues the reconcile the new spec needs.
 */
export function statusEchoVersion(site: Pick<StaticSite, "metadata">): (answer: { resourceVersion?: string; generation?: number }) => string | undefined {
  return (answer) => (answer.generation === site.metadata.generation ? answer.resourceVersion : undefined);
}

/**
 * The watch events our own writes cause. A write's answer carries the
 * resourceVersion the object has right after it; the watch then reports the
 * object at exactly that resourceVersion, and a reconcile of it would find
 * nothing to do. Every other resourceVersion is someone else's change (or a
 * later one of ours) and is reconciled as before. The event may also arrive
 * before the write's answer does; events seen while a write of that object
 * is in flight are judged once the answer is in.
 */
class OwnWrites {
  /** By memo key: the resourceVersion of our last write whose event has not arrived yet. */
  private readonly pending = new Map<string, string>();
  /** By memo key: resourceVersions of events that arrived while a write was in flight. */
  private readonly inFlight = new Map<string, string[]>();

  /** True when the event is (or, while the write is in flight, may be) the echo of our own write. */
  observed(memoKey: string, resourceVersion: string | undefined): boolean {
    const expected = this.pending.get(memoKey);
    this.pending.delete(memoKey);
    if (resourceVersion && expected === resourceVersion) return true;
    const seen = this.inFlight.get(memoKey);
    if (!seen) return false;
    seen.push(resourceVersion ?? "");
    return true;
  }

  /**
   * Runs one write of the object behind `memoKey`; `resourceVersionOf` reads
   * the resourceVersion from its answer. Returns whether events arrived
   * meanwhile that were not the write's echo (they still need a reconcile).
   */
  async write<T>(memoKey: string, write: () => Promise<T>, resourceVersionOf: (result: T) => string | undefined): Promise<{ result: T; missed: boolean }> {
    const seen: string[] = [];
    this.inFlight.set(memoKey, seen);
    // A failed write needs no bookkeeping: the failed reconcile is retried anyway.
    try {
      const result = await write();
      const rv = resourceVersionOf(result);
      if (rv && !seen.includes(rv)) this.pending.set(memoKey, rv);
      return { result, missed: seen.some((s) => s !== rv) };
    } finally {
      this.inFlight.delete(memoKey);
    }
  }

  forgetPrefix(prefix: string): void {
    for (const key of this.pending.keys()) if (key.startsWith(prefix)) this.pending.delete(key);
  }
}

/** Where the operator may act and which hosts a site may serve. */
export interface SiteScope {
  /** The namespace is one of Pagoda's; StaticSites anywhere else get nothing. */
  managesNamespace(namespace: string): boolean;
  decideHosts(site: StaticSite): HostDecision;
  /** Which of spec.domains the site may serve (operator/hosts.ts decideDomains). */
  decideDomains(site: StaticSite): DomainDecision;
  baseDomain: string;
}

export interface ReconcilerDeps {
  api: KubeApi;
  caches: Caches;
  config: ChildConfig;
  /** Without one, every namespace and every host is allowed (unit tests of other concerns). */
  scope?: SiteScope;
  log: pino.Logger;
  identity: string;
  now?: () => Date;
  /** Queues another reconcile of the site: someone else's change arrived while our write of the same object was in flight. */
  requeue?: (key: string) => void;
  /** The shared serving pool; without one, sites asking for serving: shared are PoolNotConfigured. */
  pool?: SharedPoolView;
}

type ChildKind = "ConfigMap" | "Service" | "Deployment" | "Ingress" | "PodDisruptionBudget" | "Certificate";

/** One memo per child object: a site has two Ingresses and a Certificate per custom domain. */
function childMemoKey(key: string, kind: string, childName: string): string {
  return `${key}|${kind}/${childName}`;
}

export class Reconciler {
  private readonly memo = new WriteMemo();
  private readonly own = new OwnWrites();
  /** When each handover between the pool and a site's own pods began, by `<key>|to-pool` / `<key>|from-pool`. */
  private readonly handovers = new Map<string, number>();
  private readonly now: () => Date;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Called for every watch event of a site (`kind` = "StaticSite") or one of
   * its children, so that a remembered write never hides a later change such
   * as a deletion that brings the cache back to its pre-write state.
   * Returns true when the event only reports our own last write of that
   * object (its resourceVersion), which needs no reconcile; never for a
   * deletion.
   */
  observed(key: string, kind: string, resourceVersion?: string, name?: string): boolean {
    const memoKey = kind === STATICSITE_KIND ? `${key}|status` : childMemoKey(key, kind, name ?? "");
    this.memo.invalidate(memoKey);
    return this.own.observed(memoKey, resourceVersion);
  }

  /** Drop memory of a deleted site. */
  forget(key: string): void {
    this.handovers.delete(`${key}|to-pool`);
    this.handovers.delete(`${key}|from-pool`);
    this.pool.setEntry(key, undefined);
    this.memo.forgetPrefix(`${key}|`);
    this.own.forgetPrefix(`${key}|`);
  }

  /**
   * Brings one site (its work queue key, "namespace/name") as close to its
   * spec as it can. The decision is what it returns, as in kube-rs's Action:
   * nothing means "done until something changes" (a watch event or the
   * periodic resync queues it again), `requeueAfterMs` "look again then"
   * (a handover between the pool and the site's own pods waiting out the
   * ingress controller); throwing hands the error to the controller's error
   * policy, which records it and retries with backoff.
   */
  async reconcile(key: string): Promise<HandlerResult | void> {
    const { namespace, name } = parseKeyString(key);
    const { caches, log } = this.deps;
    const cached = caches.sites.get({ namespace, name });
    if (!cached) {
      // Deleted: the garbage collector removes the children through their owner references, but not those in the pool's namespace.
      this.forget(key);
      await this.dropPoolDomainObjects(key);
      return;
    }
    // Not one of Pagoda's namespaces: no children, no status, nothing written there.
    if (cached.metadata.deletionTimestamp || (this.deps.scope && !this.deps.scope.managesNamespace(namespace))) {
      this.pool.setEntry(key, undefined);
      await this.dropPoolDomainObjects(key);
      return;
    }
    const site = this.withFreshStatus(key, cached);
    const hosts = this.deps.scope?.decideHosts(site) ?? { granted: effectiveHosts(site, this.deps.config), refused: [], conflicted: [] };
    if (isShared(site)) return this.reconcileShared(key, cached, site, hosts);
    const domainDecision = this.deps.scope?.decideDomains(site) ?? { granted: [...new Set(site.spec.domains ?? [])], refused: [] };
    const certificates = caches.certificates;
    const certificateOf = (domain: string) => certificates?.get({ namespace, name: certificateName(name, domain) });
    const domains: CustomDomains = {
      granted: domainDecision.granted,
      certified: certificates ? domainDecision.granted.filter((d) => certificateState(certificateOf(d)).state === "ready") : [],
      certManager: !!certificates,
    };

    let applyError: Error | undefined;
    let rulesError: string | undefined;
    let desired: DesiredChildren | undefined;
    try {
      desired = desiredChildren(site, this.deps.config, hosts.granted, domains);
    } catch (err) {
      applyError = new Error(`cannot build the site's objects: ${(err as Error).message}`, { cause: err });
      if (err instanceof RulesInvalidError) rulesError = err.message;
    }

    let deployment = caches.deployments.get({ namespace, name: childNames(name).deployment });
    let ingress = caches.ingresses.get({ namespace, name: childNames(name).ingress });
    let domainIngress = caches.ingresses.get({ namespace, name: childNames(name).domainIngress });
    const leavingPool = this.pool.configured && this.pool.inPool(key);
    if (desired) {
      // ConfigMap first: pods of a new template mount it.
      const steps: [ChildKind, KubernetesObject | undefined, ObjectCache<KubernetesObject>, string][] = [
        ["ConfigMap", desired.configMap, caches.configMaps, childNames(name).configMap],
        ["Service", desired.service, caches.services, childNames(name).service],
        ["Deployment", desired.deployment, caches.deployments, childNames(name).deployment],
        ["Ingress", desired.ingress, caches.ingresses, childNames(name).ingress],
        ["Ingress", desired.domainIngress, caches.ingresses, childNames(name).domainIngress],
        ["PodDisruptionBudget", desired.pdb, caches.pdbs, childNames(name).pdb],
      ];
      if (certificates) {
        // A domain that left spec.domains, or lost its claim, loses its Certificate; the Secret cert-manager wrote stays (docs/operator.md).
        const wanted = new Set(desired.certificates.map((cert) => cert.metadata.name));
        for (const cert of desired.certificates) steps.push(["Certificate", cert, certificates as ObjectCache<KubernetesObject>, cert.metadata.name!]);
        for (const cert of certificates.list(namespace)) {
          const certName = cert.metadata?.name;
          if (certName && !wanted.has(certName) && this.ownedBy(cert, site))
            steps.push(["Certificate", undefined, certificates as ObjectCache<KubernetesObject>, certName]);
        }
      }
      // Back from the pool: an exact-host Ingress wins over the pool's wildcard at once, so it waits for the site's own pods.
      for (const [kind, want, cache, childName] of steps) {
        if (kind === "Ingress" && leavingPool && !rolloutFacts(site, deployment).complete && !cache.get({ namespace, name: childName })) continue;
        try {
          const result = await this.syncChild(key, site, kind, want, cache, childName);
          if (kind === "Deployment") deployment = result as V1Deployment | undefined;
          if (kind === "Ingress" && childName === childNames(name).ingress) ingress = result as V1Ingress | undefined;
          if (kind === "Ingress" && childName === childNames(name).domainIngress) domainIngress = result as V1Ingress | undefined;
        } catch (err) {
          log.warn({ site: key, kind, err: (err as Error).message }, "child sync failed");
          applyError ??= err as Error;
        }
      }
    }

    let wait: number | undefined;
    if (this.pool.configured) {
      // Back from shared: the pool keeps serving the site until its own workload and Ingress are there to take over,
      // and the ingress controller has had time to route to them.
      const ownRolledOut = !!desired && rolloutFacts(site, deployment).complete && (!desired.ingress || !!ingress);
      if (ownRolledOut && leavingPool) wait = this.handoverWait(`${key}|from-pool`);
      if (!leavingPool) this.handovers.delete(`${key}|from-pool`);
      const ownReady = ownRolledOut && wait === undefined;
      // Its custom domains' objects in the pool namespace (from when it was shared) go once its own serve them.
      if (!leavingPool || ownReady) {
        try {
          await this.dropPoolDomainObjects(key);
        } catch (err) {
          log.warn({ site: key, err: (err as Error).message }, "removing the site's objects in the pool namespace failed");
          applyError ??= err as Error;
        }
      }
      this.pool.setEntry(
        key,
        poolEntry(site, {
          managesNamespace: () => true,
          grantedHosts: () => hosts.granted,
          grantedDomains: () => domainDecision.granted,
          inPool: (k) => this.pool.inPool(k),
          dedicatedReady: () => ownReady,
          baseDomain: this.deps.scope?.baseDomain,
        }),
      );
    }
    const pods = caches.pods.list(namespace).filter((p) => p.metadata?.labels?.[LABEL_NAME] === name);
    const status = deriveStatus({
      site,
      deployment,
      pods,
      url: siteUrl(site, this.deps.config, hosts.granted),
      applyError: rulesError ? undefined : applyError?.message,
      rulesError,
      hostProblem: this.deps.scope ? hostProblem(hosts, this.deps.scope.baseDomain) : undefined,
      ...((site.spec.domains?.length ?? 0) > 0
        ? {
            domains: domainStatuses({
              requested: site.spec.domains ?? [],
              decision: domainDecision,
              certificate: certificateOf,
              mode: this.tlsMode(),
              servingTls: new Set((domainIngress?.spec?.tls ?? []).flatMap((t) => t.hosts ?? [])),
              suspended: !!site.spec.suspend,
            }),
          }
        : {}),
      now: this.now(),
    });
    await this.writeStatus(key, cached, site, status);
    if (applyError) throw applyError;
    return wait === undefined ? undefined : { requeueAfterMs: wait };
  }

  /**
   * Milliseconds left of the handover that began when this was first asked
   * for (and undefined once it is over): an Ingress the watch shows
   * applied or deleted is not yet what the ingress controller routes by
   * (Traefik applies changes in batches, two seconds apart by default), so
   * the side that is leaving keeps serving a while longer.
   */
  private handoverWait(handover: string): number | undefined {
    const now = this.now().getTime();
    const began = this.handovers.get(handover) ?? now;
    this.handovers.set(handover, began);
    const left = began + HANDOVER_MS - now;
    return left > 0 ? left : undefined;
  }

  private get pool(): SharedPoolView {
    return this.deps.pool ?? NO_POOL;
  }

  /**
   * A site served by the pool: no children of its own, its entry in the
   * pool's map, its status from the replicas' reports. Coming from
   * dedicated, its children stay until every ready replica serves its
   * digest on its hosts; then its Ingresses go (the wildcard routes its
   * hosts to the pool once no exact-host rule does), and once the watch
   * shows them gone, the rest.
   */
  private async reconcileShared(key: string, cached: StaticSite, site: StaticSite, hosts: HostDecision): Promise<HandlerResult | void> {
    const pool = this.pool;
    const requested = site.spec.domains ?? [];
    const domainDecision = this.deps.scope?.decideDomains(site) ?? { granted: [...new Set(requested)], refused: [] };
    const entry = pool.configured
      ? poolEntry(site, {
          managesNamespace: () => true,
          grantedHosts: () => hosts.granted,
          grantedDomains: () => domainDecision.granted,
          inPool: () => true,
          dedicatedReady: () => false,
          baseDomain: this.deps.scope?.baseDomain,
        })
      : undefined;
    pool.setEntry(key, entry);
    const reports = pool.reports();
    let applyError: Error | undefined;
    let wait: number | undefined;
    let domains: DomainReport | undefined;
    if (pool.namespace && requested.length > 0) {
      const synced = await this.syncPoolDomains(key, site, pool.namespace, domainDecision);
      domains = synced.report;
      applyError = synced.error;
    } else if (pool.namespace) {
      try {
        await this.dropPoolDomainObjects(key);
      } catch (err) {
        this.deps.log.warn({ site: key, err: (err as Error).message }, "removing the site's objects in the pool namespace failed");
        applyError = err as Error;
      }
    } else if (requested.length > 0) {
      domains = sharedDomainReport(requested);
    }
    if (pool.configured && (site.spec.suspend || poolServesSite(reports, key, site.spec.artifact.digest, hosts.granted))) {
      try {
        wait = await this.dropDedicatedChildren(key, site);
      } catch (err) {
        this.deps.log.warn({ site: key, err: (err as Error).message }, "removing the dedicated children failed");
        applyError ??= err as Error;
      }
    }
    const status = deriveSharedStatus({
      site,
      url: siteUrl(site, this.deps.config, hosts.granted),
      poolConfigured: pool.configured,
      replicas: reports,
      hosts: hosts.granted,
      hostProblem: this.deps.scope ? hostProblem(hosts, this.deps.scope.baseDomain) : undefined,
      applyError: applyError?.message,
      ...(domains ? { domains } : {}),
      now: this.now(),
    });
    await this.writeStatus(key, cached, site, status);
    if (applyError) throw applyError;
    return wait === undefined ? undefined : { requeueAfterMs: wait };
  }

  /** Removes a shared site's own children, Ingresses first; the milliseconds to wait before the rest, while the ingress controller lets go of them. */
  private async dropDedicatedChildren(key: string, site: StaticSite): Promise<number | undefined> {
    const { caches } = this.deps;
    const { namespace, name } = site.metadata;
    const names = childNames(name);
    await this.syncChild(key, site, "Ingress", undefined, caches.ingresses, names.ingress);
    await this.syncChild(key, site, "Ingress", undefined, caches.ingresses, names.domainIngress);
    // Until the watch shows the Ingresses gone, ingress controllers may still route to the site's pods.
    if (caches.ingresses.get({ namespace, name: names.ingress }) || caches.ingresses.get({ namespace, name: names.domainIngress })) return undefined;
    // Only while the site still has pods of its own: once they are gone there is nothing to hand over.
    if (caches.deployments.get({ namespace, name: names.deployment })) {
      const wait = this.handoverWait(`${key}|to-pool`);
      if (wait !== undefined) return wait;
    }
    this.handovers.delete(`${key}|to-pool`);
    await this.syncChild(key, site, "PodDisruptionBudget", undefined, caches.pdbs, names.pdb);
    await this.syncChild(key, site, "Deployment", undefined, caches.deployments, names.deployment);
    await this.syncChild(key, site, "Service", undefined, caches.services, names.service);
    await this.syncChild(key, site, "ConfigMap", undefined, caches.configMaps, names.configMap);
    const certificates = caches.certificates;
    if (certificates) {
      for (const cert of certificates.list(namespace)) {
        const certName = cert.metadata?.name;
        if (certName && this.ownedBy(cert, site))
          await this.syncChild(key, site, "Certificate", undefined, certificates as ObjectCache<KubernetesObject>, certName);
      }
    }
    return undefined;
  }

  /**
   * A shared site's custom domains: their Certificates and Ingresses in the
   * pool namespace (operator/pool/domains.ts), applied as a dedicated site's
   * are in its own, and their states read from there.
   */
  private async syncPoolDomains(
    key: string,
    site: StaticSite,
    poolNamespace: string,
    decision: DomainDecision,
  ): Promise<{ report: DomainReport; error: Error | undefined }> {
    const { caches } = this.deps;
    const certificates = caches.certificates;
    const names = poolDomainNames(key);
    const certificateOf = (domain: string) => certificates?.get({ namespace: poolNamespace, name: certificateName(names.stem, domain) });
    const domains: CustomDomains = {
      granted: decision.granted,
      certified: certificates ? decision.granted.filter((d) => certificateState(certificateOf(d)).state === "ready") : [],
      certManager: !!certificates,
    };
    const desired = desiredPoolDomainObjects(site, this.deps.config, poolNamespace, domains);
    const where = { namespace: poolNamespace, owns: (obj: KubernetesObject) => ownsPoolDomainObject(key, obj) };
    let firstError: Error | undefined;
    const sync = async (kind: ChildKind, want: KubernetesObject | undefined, cache: ObjectCache<KubernetesObject>, name: string) => {
      try {
        return await this.syncChild(key, site, kind, want, cache, name, where);
      } catch (err) {
        this.deps.log.warn({ site: key, kind, name, err: (err as Error).message }, "pool-namespace object sync failed");
        firstError ??= err as Error;
        return cache.get({ namespace: poolNamespace, name });
      }
    };
    if (certificates) {
      const certCache = certificates as ObjectCache<KubernetesObject>;
      const wanted = new Set(desired.certificates.map((cert) => cert.metadata.name));
      for (const cert of desired.certificates) await sync("Certificate", cert, certCache, cert.metadata.name!);
      for (const cert of certificates.list(poolNamespace)) {
        const name = cert.metadata?.name;
        if (name && !wanted.has(name) && ownsPoolDomainObject(key, cert)) await sync("Certificate", undefined, certCache, name);
      }
    }
    await sync("Ingress", desired.ingress, caches.ingresses, names.ingress);
    const domainIngress = (await sync("Ingress", desired.domainIngress, caches.ingresses, names.domainIngress)) as V1Ingress | undefined;
    const report = domainStatuses({
      requested: site.spec.domains ?? [],
      decision,
      certificate: certificateOf,
      mode: this.tlsMode(),
      servingTls: new Set((domainIngress?.spec?.tls ?? []).flatMap((t) => t.hosts ?? [])),
      suspended: !!site.spec.suspend,
    });
    return { report, error: firstError };
  }

  /** Removes whatever the site has in the pool namespace: it is deleted, dedicated, or has no custom domain left. */
  private async dropPoolDomainObjects(key: string): Promise<void> {
    const poolNamespace = this.pool.namespace;
    if (!poolNamespace) return;
    const { caches } = this.deps;
    const names = poolDomainNames(key);
    const where = { namespace: poolNamespace, owns: (obj: KubernetesObject) => ownsPoolDomainObject(key, obj) };
    // A stand-in for the deleted site: syncChild only reads its namespace through `where`.
    const { namespace, name } = parseKeyString(key);
    const site = { metadata: { namespace, name } } as StaticSite;
    for (const ingName of [names.ingress, names.domainIngress]) await this.syncChild(key, site, "Ingress", undefined, caches.ingresses, ingName, where);
    const certificates = caches.certificates;
    if (!certificates) return;
    for (const cert of certificates.list(poolNamespace)) {
      const certName = cert.metadata?.name;
      if (certName && ownsPoolDomainObject(key, cert))
        await this.syncChild(key, site, "Certificate", undefined, certificates as ObjectCache<KubernetesObject>, certName, where);
    }
  }

  private tlsMode(): TlsMode {
    if (!this.deps.config.clusterIssuer) return "no-issuer";
    return this.deps.caches.certificates ? "on" : "no-cert-manager";
  }

  /** The cached site, with the status this operator last wrote if the cache lags behind it. */
  private withFreshStatus(key: string, cached: StaticSite): StaticSite {
    const statusKey = `${key}|status`;
    const fresh = this.memo.freshest<StaticSite>(statusKey, cached);
    return fresh === cached || !fresh ? cached : { ...cached, status: fresh.status };
  }

  private async syncChild(
    key: string,
    site: StaticSite,
    kind: ChildKind,
    want: KubernetesObject | undefined,
    cache: ObjectCache<KubernetesObject>,
    childName: string,
    // Where the child lives and how to tell it is the site's: its own namespace and owner reference, unless it is in the pool's.
    where: { namespace: string; owns: (obj: KubernetesObject) => boolean } = { namespace: site.metadata.namespace, owns: (obj) => this.ownedBy(obj, site) },
  ): Promise<KubernetesObject | undefined> {
    const memoKey = childMemoKey(key, kind, childName);
    const cached = cache.get({ namespace: where.namespace, name: childName });
    const live = this.memo.freshest(memoKey, cached);
    if (!want) {
      if (live && where.owns(live)) {
        await this.deps.api.delete({
          apiVersion: live.apiVersion ?? apiVersionOf(kind),
          kind,
          name: childName,
          namespace: where.namespace,
        });
        this.memo.remember(memoKey, cached, undefined);
        this.deps.log.info({ site: key, kind, name: childName }, "deleted child that is no longer wanted");
      }
      return undefined;
    }
    const desired = withAppliedHash(want);
    if (!needsApply(desired, live)) return live;
    const { result, missed } = await this.own.write(
      memoKey,
      () => this.deps.api.apply(desired),
      (r) => r.metadata?.resourceVersion,
    );
    if (missed) this.deps.requeue?.(key);
    const kept = appliedState(desired, result, cached);
    this.memo.remember(memoKey, cached, kept);
    this.deps.log.info({ site: key, kind, name: childName, created: !live }, live ? "updated child" : "created child");
    return kept;
  }

  private ownedBy(obj: KubernetesObject, site: StaticSite): boolean {
    return !!obj.metadata?.ownerReferences?.some((r) => r.kind === STATICSITE_KIND && r.uid === site.metadata.uid && r.controller);
  }

  private async writeStatus(key: string, cached: StaticSite, site: StaticSite, next: StaticSiteStatus): Promise<void> {
    if (statusEqual(site.status, next)) return;
    const statusKey = `${key}|status`;
    const { result, missed } = await this.own.write(statusKey, () => this.deps.api.applyStatus(site, next), statusEchoVersion(site));
    const { resourceVersion } = result;
    if (missed) this.deps.requeue?.(key);
    this.memo.remember(`${key}|status`, cached, {
      ...cached,
      metadata: { ...cached.metadata, resourceVersion },
      status: next,
    });
    for (const event of transitionEvents(site.status, next)) {
      try {
        await this.deps.api.createEvent(site, event, this.deps.identity);
      } catch (err) {
        // An event is a courtesy to a person; failing to record one must not fail the reconcile.
        this.deps.log.warn({ site: key, reason: event.reason, err: (err as Error).message }, "could not record event");
      }
    }
  }
}

/**
 * The object as the apply left it, kept until the watch catches up: what
 * was applied, with the metadata the write's answer carries (resourceVersion,
 * generation, everyone's labels and annotations; no managedFields, as the
 * caches keep objects) and the status the cache last saw, which an apply
 * does not change. Fields others own or the API server defaults are absent;
 * nothing reads them in that window: the drift check compares only the
 * fields the operator sets, and status only the Deployment's spec, its
 * generation and its status.
 */
export function appliedState<T extends KubernetesObject>(applied: T, answer: PartialObjectMetadata, cached: KubernetesObject | undefined): T {
  const metadata = { ...answer.metadata };
  delete metadata.managedFields;
  const status = (cached as { status?: unknown } | undefined)?.status;
  return { ...applied, metadata, ...(status !== undefined ? { status } : {}) };
}

function apiVersionOf(kind: ChildKind): string {
  switch (kind) {
    case "ConfigMap":
    case "Service":
      return "v1";
    case "Deployment":
      return "apps/v1";
    case "Ingress":
      return "networking.k8s.io/v1";
    case "PodDisruptionBudget":
      return "policy/v1";
    case "Certificate":
      return "cert-manager.io/v1";
  }
}
