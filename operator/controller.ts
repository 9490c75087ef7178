// Wires the pieces into a running operator: informers feed keys into the
// work queue, the queue runs reconciles while this instance leads, a resync
// timer re-checks every site periodically, and a small HTTP server reports
// health and metrics. Each piece is wired by one short function below;
// startOperator only puts them in order.
import type {
  KubeConfig,
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1Ingress,
  V1Namespace,
  V1Pod,
  V1PodDisruptionBudget,
  V1Service,
} from "@kubernetes/client-node";
import type pino from "pino";
import { componentLogger } from "@/lib/log";
import { LABEL_NAME, MANAGED_SELECTOR, STATICSITE_KIND, type StaticSite } from "@/lib/staticsite/types";
import { listStaticSites, STATICSITES_PATH } from "@/lib/staticsite/client";
import type { OperatorConfig } from "./config";
import { startHealthServer, type HealthServer, type Readiness } from "../lib/kube/health-server";
import { trimObject, trimPod } from "./cache-trim";
import { KubeApi, operatorKubeConfig } from "./kube-api";
import { pooledKubeConfig } from "@/lib/kube/connection";
import { backoffDelay } from "../lib/kube/backoff";
import { LeaderElector } from "../lib/kube/leader-election";
import { createMetrics, type OperatorMetrics } from "./metrics";
import { CERTIFICATE_API_VERSION, childNames, effectiveHosts, type Certificate } from "./children";
import { createdAtMs, decideDomains, decideHosts, domainForbidden, hostAllowed, HostClaims, type DomainRules, type HostClaim } from "./hosts";
import { Reconciler, type Caches, type SiteScope } from "./reconcile";
import { Informer, type InformerEvent, type ListResult } from "../lib/kube/informer";
import { poolDomainOwner } from "./pool/domains";
import { keyOf, keyString, parseKeyString } from "../lib/kube/object-key";
import { apiErrorMessage, apiStatusCode, isNotFound, isTimeout } from "../lib/kube/request";
import { WorkQueue, type HandlerResult } from "../lib/kube/workqueue";
import { POOL_POD_SELECTOR } from "./pool/objects";
import { PoolReconciler } from "./pool/reconcile";
import { changedSites } from "./pool/replicas";
import { NO_POOL, SharedPool } from "./pool/shared-pool";
import type { PoolState } from "./pool/protocol";

export interface StartOptions {
  /** Use this instead of loading a kubeconfig from the config / environment. */
  kubeConfig?: KubeConfig;
  log?: pino.Logger;
  /** Register process-level metrics (CPU, memory, event loop); off for in-process test instances. */
  defaultMetrics?: boolean;
  /**
   * Where a pool pod's agent answers; by default its pod IP and AGENT_PORT
   * (operator/pool/replicas.ts podAgentUrl). For clusters whose pod
   * addresses this process cannot reach, such as simulated nodes.
   */
  poolAgentUrl?: (pod: V1Pod) => string | undefined;
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

/** What every piece is wired with. */
interface Runtime {
  config: OperatorConfig;
  log: pino.Logger;
  kc: KubeConfig;
  metrics: OperatorMetrics;
  api: KubeApi;
  closeConnection: () => Promise<void>;
}

/** The informers; the reconciler reads the site and child ones (reconcile.ts's Caches). */
interface OperatorCaches extends Caches {
  sites: Informer<StaticSite>;
  namespaces: Informer<V1Namespace>;
  deployments: Informer<V1Deployment>;
  configMaps: Informer<V1ConfigMap>;
  services: Informer<V1Service>;
  ingresses: Informer<V1Ingress>;
  pdbs: Informer<V1PodDisruptionBudget>;
  pods: Informer<V1Pod>;
  certificates?: Informer<Certificate>;
  /** The shared pool's pods, in its namespace only; absent without a pool. */
  poolPods?: Informer<V1Pod>;
  all: Informer<KubernetesObject>[];
}

/** Work queue keys of the pool's objects and of its desired map; no site key looks like them (those are `namespace/name`). */
export const POOL_KEY = "(pool)";
export const POOL_MAP_KEY = "(pool-map)";

export async function startOperator(config: OperatorConfig, opts: StartOptions = {}): Promise<RunningOperator> {
  const rt = connect(config, opts);
  const routing = new SiteRouting(config, (kind) => rt.metrics.watchEchoes.inc({ kind }));
  const queue = createReconcileQueue(rt, (key) => routing.reconcile(key));
  routing.queue = queue;
  routing.pool = config.pool ? createSharedPool(rt, config.pool.namespace, routing, queue, opts) : undefined;
  const caches = createCaches(rt, routing, await certManagerServed(rt));
  if (routing.pool && config.pool) {
    const shared = routing.pool;
    routing.poolReconciler = new PoolReconciler({
      api: rt.api,
      config: { ...config, pool: config.pool },
      caches,
      log: rt.log.child({ component: "pool" }),
      onToken: (token) => shared.setToken(token),
    });
  }
  routing.reconciler = new Reconciler({
    api: rt.api,
    caches,
    config,
    scope: routing.scope(caches.ingresses),
    log: rt.log,
    identity: config.identity,
    requeue: (key) => routing.enqueueIfManaged(key),
    pool: routing.pool ?? NO_POOL,
  });

  const leadership = { leader: !config.leaderElection, started: false };
  const readiness = () => readinessOf(caches.all, config.watchStallMs, leadership.started);
  const server = await startHealth(rt, readiness, () => {
    rt.metrics.queueDepth.set(queue.depth());
    rt.metrics.queueActive.set(queue.activeCount());
    rt.metrics.managedSites.set(caches.sites.list().filter((s) => routing.managesNamespace(s.metadata.namespace)).length);
    rt.metrics.isLeader.set(leadership.leader ? 1 : 0);
  });

  await syncCaches(rt, caches, routing);
  const resync = startResync(config.resyncMs, () => routing.enqueueAll(caches.sites));
  const elector = startReconcilingWhenLeading(rt, {
    onStartedLeading: () => {
      leadership.leader = true;
      rt.metrics.isLeader.set(1);
      routing.enqueueAll(caches.sites);
      // Only the leader talks to the replicas: two writers would number their maps apart.
      routing.pool?.replicas.start(caches.poolPods?.list() ?? []);
      queue.start();
      // The first map waits for every site's entry: the queue idle once holds the first pass over all of them.
      if (routing.pool) void queue.idle().then(() => routing.pool?.begin());
    },
    onStoppedLeading: async () => {
      leadership.leader = false;
      rt.metrics.isLeader.set(0);
      await queue.pause();
      await routing.pool?.replicas.stop();
    },
  });
  leadership.started = true;

  return {
    port: server.port,
    metrics: rt.metrics,
    isLeader: () => leadership.leader,
    readiness,
    idle: () => queue.idle(),
    stop: shutdownInOrder(rt, { resync, elector, queue, caches, server, pool: routing.pool }),
  };
}

/** The pool's shared state and its replica client, reporting into the operator's metrics and queue. */
function createSharedPool(rt: Runtime, namespace: string, routing: SiteRouting, queue: WorkQueue, opts: StartOptions): SharedPool {
  const { config, metrics } = rt;
  return new SharedPool({
    namespace,
    log: rt.log.child({ component: "pool" }),
    schedulePublish: () => queue.add(POOL_MAP_KEY),
    ...(opts.poolAgentUrl ? { agentUrl: opts.poolAgentUrl } : {}),
    requestTimeoutMs: config.apiTimeoutMs,
    backoff: { baseMs: config.backoffBaseMs, maxMs: Math.min(config.backoffMaxMs, 30_000) },
    metrics: {
      push: (ok) => (ok ? metrics.poolPushes.inc() : metrics.poolPushFailures.inc()),
      replicas: (known, ready) => {
        metrics.poolReplicasKnown.set(known);
        metrics.poolReplicasReady.set(ready);
      },
      applied: (seconds) => metrics.poolStateLag.observe(seconds),
    },
    onReport: (_pod, before, after) => routing.poolReported(before, after),
  });
}

/** The connection, metrics and API client every other piece uses. */
function connect(config: OperatorConfig, opts: StartOptions): Runtime {
  const log = opts.log ?? componentLogger("operator");
  const connection = pooledKubeConfig(opts.kubeConfig ?? operatorKubeConfig(config));
  const metrics = createMetrics({ defaultMetrics: opts.defaultMetrics ?? false });
  const api = new KubeApi(connection.kc, metrics, { requestTimeoutMs: config.apiTimeoutMs });
  return { config, log, kc: connection.kc, metrics, api, closeConnection: () => connection.close() };
}

/**
 * The one error policy of the reconcile loop (kube-rs's error_policy):
 * every failed reconcile is counted by cause and logged, and the queue
 * retries its key with backoff.
 */
function recordReconcileError(rt: Runtime, key: string, err: unknown, retryInMs: number, failures: number): void {
  const code = apiStatusCode(err);
  const reason = isTimeout(err) ? "timeout" : code ? `http_${code}` : "other";
  rt.metrics.reconcileErrors.inc({ reason });
  rt.log.warn({ site: key, err: apiErrorMessage(err), retryInMs, failures }, "reconcile failed; will retry");
}

/** The work queue that runs reconciles, with their metrics and error policy. */
function createReconcileQueue(rt: Runtime, reconcile: (key: string) => Promise<HandlerResult | void>): WorkQueue {
  return new WorkQueue({
    concurrency: rt.config.concurrency,
    backoffBaseMs: rt.config.backoffBaseMs,
    backoffMaxMs: rt.config.backoffMaxMs,
    handler: reconcile,
    onDone: (_key, outcome, ms) => {
      rt.metrics.reconciles.inc({ result: outcome });
      rt.metrics.reconcileDuration.observe({ result: outcome }, ms / 1000);
    },
    onError: (key, err, retryInMs, failures) => recordReconcileError(rt, key, err, retryInMs, failures),
  });
}

/**
 * Which namespaces are Pagoda's and which site claims which host: state the
 * watch events keep current and reconciles read. StaticSites outside Pagoda's
 * namespaces are cached (one cluster-wide watch is far cheaper than one per
 * namespace) but never reconciled, and claim no host.
 */
class SiteRouting {
  private readonly pagodaNamespaces = new Set<string>();
  private readonly claims = new HostClaims();
  // Set by startOperator right after construction, before any event can arrive.
  queue: WorkQueue | undefined;
  reconciler: Reconciler | undefined;
  pool: SharedPool | undefined;
  poolReconciler: PoolReconciler | undefined;

  constructor(
    private readonly config: OperatorConfig,
    /** Counts a watch event that only reported our own write. */
    private readonly onEcho: (kind: string) => void,
  ) {}

  get namespaceCount(): number {
    return this.pagodaNamespaces.size;
  }

  managesNamespace(namespace: string): boolean {
    return this.pagodaNamespaces.has(namespace);
  }

  async reconcile(key: string): Promise<HandlerResult | void> {
    if (key === POOL_KEY) return this.poolReconciler?.reconcile();
    if (key === POOL_MAP_KEY) {
      this.pool?.publish();
      return;
    }
    if (!this.reconciler) throw new Error("the operator's reconciler is not wired yet");
    return this.reconciler.reconcile(key);
  }

  enqueueAll(sites: Informer<StaticSite>): void {
    if (this.poolReconciler) this.queue?.add(POOL_KEY);
    for (const site of sites.list()) this.enqueueIfManaged(keyString(keyOf(site)));
  }

  /** A pool replica's report changed: the sites whose service changed; all of the pool's when a replica came or went. */
  poolReported(before: PoolState | undefined, after: PoolState | undefined): void {
    const keys = new Set(changedSites(before, after));
    if (!before || !after) for (const key of this.pool?.keys() ?? []) keys.add(key);
    for (const key of keys) this.enqueueIfManaged(key);
  }

  poolPodChanged(event: InformerEvent, pod: V1Pod): void {
    this.pool?.replicas.podChanged(event, pod);
  }

  enqueueIfManaged(key: string): void {
    if (this.managesNamespace(parseKeyString(key).namespace)) this.queue?.add(key);
  }

  siteChanged(event: InformerEvent, site: StaticSite): void {
    const key = keyString(keyOf(site));
    const echo = this.echo(event, key, STATICSITE_KIND, site);
    if (event === "delete") {
      this.queue?.forget(key);
      this.reconciler?.forget(key);
      // The next claimant of each of its hosts may now hold it.
      for (const other of this.claims.remove(key)) this.enqueueIfManaged(other);
      // Owner references do not reach into the pool namespace: the reconcile of a site that is gone removes what it had there.
      if (this.config.pool) this.queue?.add(key);
      return;
    }
    for (const other of this.claims.set(this.claimOf(site))) this.enqueueIfManaged(other);
    if (!echo) this.enqueueIfManaged(key);
  }

  /** Tells the reconciler of the event; true when it only reports our own last write of the object. */
  private echo(event: InformerEvent, key: string, kind: string, obj: KubernetesObject): boolean {
    const echo = this.reconciler?.observed(key, kind, event === "delete" ? undefined : obj.metadata?.resourceVersion, obj.metadata?.name) ?? false;
    if (echo) this.onEcho(kind);
    return echo;
  }

  /** A namespace that stops matching the selector arrives as a deletion. */
  namespaceChanged(event: InformerEvent, ns: V1Namespace, sites: Informer<StaticSite>): void {
    const name = ns.metadata?.name;
    // Updates of a namespace that still matches change nothing here.
    if (!name || event === "update") return;
    if (event === "delete") this.pagodaNamespaces.delete(name);
    else this.pagodaNamespaces.add(name);
    // Its sites start or stop claiming hosts: theirs and their rivals' decisions may change.
    for (const site of sites.list(name)) {
      const key = keyString(keyOf(site));
      this.enqueueIfManaged(key);
      for (const other of this.claims.neighboursOf(key)) this.enqueueIfManaged(other);
    }
  }

  childChanged(event: InformerEvent, kind: string, obj: KubernetesObject): void {
    if (this.config.pool && obj.metadata?.namespace === this.config.pool.namespace) {
      // A shared site's custom domain objects: its reconcile keeps them, or removes them once the site is gone.
      const site = poolDomainOwner(obj);
      if (site) {
        if (!this.echo(event, site, kind, obj)) this.queue?.add(site);
        if (kind === "Ingress") for (const other of this.claims.neighboursOf(site)) this.enqueueIfManaged(other);
        return;
      }
      this.poolReconciler?.observed(kind);
      if (kind !== "Pod") this.queue?.add(POOL_KEY);
      return;
    }
    const key = ownerKey(obj);
    if (!key) return;
    if (!this.echo(event, key, kind, obj)) this.queue?.add(key);
    // An Ingress that appears or goes changes who serves its hosts, whoever wrote it.
    if (kind === "Ingress") for (const other of this.claims.neighboursOf(key)) this.enqueueIfManaged(other);
  }

  scope(ingresses: Informer<V1Ingress>): SiteScope {
    const inScope = (claim: Pick<HostClaim, "namespace">) => this.managesNamespace(claim.namespace);
    // A site serves a host when its own Ingress (controlled by it, as stored in
    // the API server) has a rule for it: the incumbent keeps the host.
    const serving = (claim: HostClaim, host: string): boolean => {
      const names = childNames(claim.name);
      return (
        [names.ingress, names.domainIngress].some((name) => {
          const ing = ingresses.get({ namespace: claim.namespace, name });
          const owned = ing?.metadata?.ownerReferences?.some((r) => r.controller && r.kind === STATICSITE_KIND && r.name === claim.name && r.uid === claim.uid);
          return !!owned && !!ing?.spec?.rules?.some((r) => r.host === host);
        }) || !!this.pool?.entryHosts(claim.key)?.includes(host)
      );
    };
    return {
      baseDomain: this.config.baseDomain,
      managesNamespace: (namespace) => this.managesNamespace(namespace),
      decideHosts: (site) => decideHosts(keyString(keyOf(site)), effectiveHosts(site, this.config), this.config.baseDomain, this.claims, inScope, serving),
      decideDomains: (site) => decideDomains(keyString(keyOf(site)), site.spec.domains ?? [], this.domainRules, this.claims, inScope, serving),
    };
  }

  private get domainRules(): DomainRules {
    return { baseDomain: this.config.baseDomain, dashboardHost: this.config.dashboardHost };
  }

  private claimOf(site: StaticSite): HostClaim {
    return {
      key: keyString(keyOf(site)),
      namespace: site.metadata.namespace,
      name: site.metadata.name,
      uid: site.metadata.uid ?? "",
      createdAt: createdAtMs(site.metadata.creationTimestamp),
      // Custom domains share the index: a name is one site's, whether it came as a host or a domain.
      hosts: [
        ...effectiveHosts(site, this.config).filter((h) => hostAllowed(h, this.config.baseDomain)),
        ...(site.spec.domains ?? []).filter((d) => !domainForbidden(d, this.domainRules)),
      ],
    };
  }
}

/**
 * Whether the API server serves cert-manager's Certificate kind. Asked once at
 * start: without it the operator asks for no certificate and serves custom
 * domains over plain HTTP, rather than failing every reconcile. Installing
 * cert-manager later takes a restart of the operator.
 */
async function certManagerServed(rt: Runtime): Promise<boolean> {
  if (!rt.config.clusterIssuer) return false;
  // An API server that does not answer yet is no answer: asked again with backoff, as the watches would.
  for (let attempt = 0; ; attempt++) {
    try {
      const list = await rt.api.requester.request<{ resources?: { kind?: string }[] }>(
        "discovering cert-manager.io/v1",
        { method: "GET", path: `/apis/${CERTIFICATE_API_VERSION}` },
        { verb: "get", resource: "APIResourceList", write: false },
      );
      if (list.resources?.some((r) => r.kind === "Certificate")) return true;
      break;
    } catch (err) {
      if (isNotFound(err)) break;
      const retryInMs = backoffDelay(attempt + 1, { baseMs: rt.config.backoffBaseMs, maxMs: rt.config.backoffMaxMs });
      rt.log.warn({ err: apiErrorMessage(err), retryInMs }, "could not ask the API server whether cert-manager is installed; will retry");
      await new Promise((resolve) => setTimeout(resolve, retryInMs));
    }
  }
  rt.log.warn(
    { clusterIssuer: rt.config.clusterIssuer },
    "cert-manager is not installed (the API server does not serve cert-manager.io/v1 Certificates): custom domains are served over plain HTTP; restart the operator once it is installed",
  );
  return false;
}

/** The site a child belongs to: its controlling StaticSite, else its name label. */
function ownerKey(obj: KubernetesObject): string | undefined {
  const namespace = obj.metadata?.namespace;
  if (!namespace) return undefined;
  const owner = obj.metadata?.ownerReferences?.find((r) => r.controller && r.kind === STATICSITE_KIND);
  const name = owner?.name ?? obj.metadata?.labels?.[LABEL_NAME];
  return name ? keyString({ namespace, name }) : undefined;
}

/** One informer of the operator: trimmed objects, its errors in the operator's words, its events and restarts counted. */
function operatorInformer<T extends KubernetesObject>(
  rt: Runtime,
  kind: string,
  path: string,
  list: (labelSelector?: string) => Promise<ListResult<T>>,
  onChange: (event: InformerEvent, obj: T) => void,
  opts: { labelSelector?: string; transform?: (obj: T) => T } = {},
): Informer<T> {
  return new Informer<T>({
    kind,
    kc: rt.kc,
    path,
    ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
    list: () => list(opts.labelSelector),
    transform: opts.transform ?? trimObject,
    onChange: (event, obj) => {
      rt.metrics.watchEvents.inc({ kind });
      onChange(event, obj);
    },
    onRetry: () => rt.metrics.watchRestarts.inc({ kind }),
    log: rt.log,
  });
}

/** The informers: every StaticSite, Pagoda's namespaces, and the children this operator labelled, in all namespaces. */
function createCaches(rt: Runtime, routing: SiteRouting, withCertificates: boolean): OperatorCaches {
  const { api, config } = rt;
  const listed =
    <T extends KubernetesObject>(apiVersion: string, kind: string) =>
    async (labelSelector?: string): Promise<ListResult<T>> => {
      const list = await api.call("list", kind, false, `listing ${kind}s`, () =>
        api.objects.list<T>(apiVersion, kind, undefined, undefined, undefined, undefined, undefined, labelSelector),
      );
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
    };
  const sites = operatorInformer<StaticSite>(
    rt,
    STATICSITE_KIND,
    STATICSITES_PATH,
    () => listStaticSites(api.requester),
    (event, site) => routing.siteChanged(event, site),
  );
  // Filtered by the API server: a namespace that stops matching arrives as a deletion.
  const namespaces = operatorInformer<V1Namespace>(
    rt,
    "Namespace",
    "/api/v1/namespaces",
    listed<V1Namespace>("v1", "Namespace"),
    (event, ns) => routing.namespaceChanged(event, ns, sites),
    { labelSelector: config.namespaceSelector },
  );
  const child = <T extends KubernetesObject>(kind: string, apiVersion: string, path: string, transform?: (obj: T) => T) =>
    operatorInformer<T>(rt, kind, path, listed<T>(apiVersion, kind), (event, obj) => routing.childChanged(event, kind, obj), {
      labelSelector: MANAGED_SELECTOR,
      ...(transform ? { transform } : {}),
    });
  const deployments = child<V1Deployment>("Deployment", "apps/v1", "/apis/apps/v1/deployments");
  const configMaps = child<V1ConfigMap>("ConfigMap", "v1", "/api/v1/configmaps");
  const services = child<V1Service>("Service", "v1", "/api/v1/services");
  const ingresses = child<V1Ingress>("Ingress", "networking.k8s.io/v1", "/apis/networking.k8s.io/v1/ingresses");
  const pdbs = child<V1PodDisruptionBudget>("PodDisruptionBudget", "policy/v1", "/apis/policy/v1/poddisruptionbudgets");
  const pods = child<V1Pod>("Pod", "v1", "/api/v1/pods", trimPod);
  const certificates = withCertificates
    ? child<Certificate>("Certificate", CERTIFICATE_API_VERSION, `/apis/${CERTIFICATE_API_VERSION}/certificates`)
    : undefined;
  const poolNamespace = config.pool?.namespace;
  // Its own watch: the pool's pods carry no managed-by label, so the site Pod cache never holds them.
  const poolPods = poolNamespace
    ? operatorInformer<V1Pod>(
        rt,
        "PoolPod",
        `/api/v1/namespaces/${poolNamespace}/pods`,
        async () => {
          const list = await api.call("list", "Pod", false, `listing the pool's Pods`, () =>
            api.objects.list<V1Pod>("v1", "Pod", poolNamespace, undefined, undefined, undefined, undefined, POOL_POD_SELECTOR),
          );
          return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
        },
        (event, pod) => routing.poolPodChanged(event, pod),
        { labelSelector: POOL_POD_SELECTOR, transform: trimPod },
      )
    : undefined;
  const all = [
    sites,
    namespaces,
    deployments,
    configMaps,
    services,
    ingresses,
    pdbs,
    pods,
    ...(certificates ? [certificates] : []),
    ...(poolPods ? [poolPods] : []),
  ] as unknown as Informer<KubernetesObject>[];
  return {
    sites,
    namespaces,
    deployments,
    configMaps,
    services,
    ingresses,
    pdbs,
    pods,
    ...(certificates ? { certificates } : {}),
    ...(poolPods ? { poolPods } : {}),
    all,
  };
}

/** Starts every informer and waits until each has listed once: reconciles must not run on a partial picture. */
async function syncCaches(rt: Runtime, caches: OperatorCaches, routing: SiteRouting): Promise<void> {
  for (const informer of caches.all) informer.start();
  await Promise.all(caches.all.map((informer) => informer.whenSynced()));
  rt.log.info({ sites: caches.sites.count(), namespaces: routing.namespaceCount, namespaceSelector: rt.config.namespaceSelector }, "caches synced");
}

/** Ready when every cache is synced and no watch has been out of touch for longer than `watchStallMs`. */
function readinessOf(informers: Informer<KubernetesObject>[], watchStallMs: number, started: boolean): Readiness {
  const now = Date.now();
  const reasons = informers.flatMap((informer) => informer.health(watchStallMs, now).reason ?? []);
  if (!started) reasons.push("starting");
  return { ready: reasons.length === 0, reasons };
}

/** /healthz, /readyz and /metrics; started before the caches sync so that /readyz can say why it is not ready. */
function startHealth(rt: Runtime, readiness: () => Readiness, beforeMetrics: () => void): Promise<HealthServer> {
  return startHealthServer({ port: rt.config.port, registry: rt.metrics.registry, readiness, beforeMetrics });
}

/** Re-checks every site on a clock, so that nothing depends on a watch event alone. */
function startResync(everyMs: number, enqueueAll: () => void): NodeJS.Timeout {
  const timer = setInterval(enqueueAll, everyMs);
  timer.unref();
  return timer;
}

/** With leader election, reconciles run only while this instance holds the lease; without, from now on. */
function startReconcilingWhenLeading(rt: Runtime, hooks: { onStartedLeading: () => void; onStoppedLeading: () => Promise<void> }): LeaderElector | undefined {
  const { config } = rt;
  if (!config.leaderElection) {
    hooks.onStartedLeading();
    return undefined;
  }
  const elector = new LeaderElector({
    requester: rt.api.requester,
    namespace: config.leaseNamespace,
    name: config.leaseName,
    identity: config.identity,
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.leaseRenewMs,
    retryPeriodMs: Math.max(200, Math.floor(config.leaseDurationMs / 5)),
    log: rt.log,
    ...hooks,
  });
  elector.start();
  return elector;
}

/**
 * Stops in the reverse order of starting, once however often it is called:
 * no new reconciles, the lease released, running reconciles finished, then
 * the watches, the server and the connection pool.
 */
function shutdownInOrder(
  rt: Runtime,
  parts: {
    resync: NodeJS.Timeout;
    elector: LeaderElector | undefined;
    queue: WorkQueue;
    caches: OperatorCaches;
    server: HealthServer;
    pool: SharedPool | undefined;
  },
): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      clearInterval(parts.resync);
      if (parts.elector) await parts.elector.stop();
      await parts.queue.stop();
      await parts.pool?.replicas.stop();
      await Promise.all(parts.caches.all.map((informer) => informer.stop()));
      await parts.server.close();
      await rt.closeConnection();
      rt.log.info("operator stopped");
    })();
    return stopping;
  };
}
