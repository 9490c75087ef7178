// One watch on every pagoda StaticSite per dashboard process, shared by all
// the browsers following a site: each server-sent-events stream subscribes
// here, so the number of browsers never changes the load on the API server.

import "server-only";
import type { KubeConfig } from "@kubernetes/client-node";
import { MANAGED_SELECTOR, STATICSITE_KIND, type StaticSite } from "@/lib/staticsite/types";
import { componentLogger } from "@/lib/log";
import { processSingleton } from "@/lib/process-singleton";
import { listStaticSites, STATICSITES_PATH } from "@/lib/staticsite/client";
import { dashboardRequester } from "./kube-clients";
import { clusterConnection } from "./connection";
import { Informer, type InformerState } from "../kube/informer";
import { keyString } from "../kube/object-key";

const log = componentLogger("k8s-status-hub");

/** Called with the site's new state, or null once it was deleted. */
export type SiteListener = (site: StaticSite | null) => void;
/** Called for any site of one namespace. */
export type NamespaceListener = (name: string, site: StaticSite | null) => void;
/** Called for any site of any namespace. */
export type AnySiteListener = (namespace: string, name: string, site: StaticSite | null) => void;
export type HealthListener = (healthy: boolean) => void;

export interface StatusHubOptions {
  labelSelector?: string;
  /** A disconnected hub stays healthy this long (reconnects are normally much quicker). */
  staleAfterMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export interface StatusHubStats extends InformerState {
  sites: number;
  /** Site, namespace and all-site subscriptions. */
  subscribers: number;
  healthSubscribers: number;
  healthy: boolean;
}

/** Status views never need managedFields, often the largest part of the object; a copy, as the informer's transform must be. */
function slim(ss: StaticSite): StaticSite {
  const metadata = { ...ss.metadata };
  delete metadata.managedFields;
  return { ...ss, metadata };
}

export class StatusHub {
  private readonly watch: Informer<StaticSite>;
  private readonly siteListeners = new Map<string, Set<SiteListener>>();
  private readonly namespaceListeners = new Map<string, Set<NamespaceListener>>();
  private readonly anySiteListeners = new Set<AnySiteListener>();
  private readonly healthListeners = new Set<HealthListener>();
  private readonly staleAfterMs: number;
  private lastHealthy = false;
  private healthTimer: NodeJS.Timeout | undefined;

  constructor(kc: KubeConfig, opts: StatusHubOptions = {}) {
    const labelSelector = opts.labelSelector ?? MANAGED_SELECTOR;
    this.staleAfterMs = opts.staleAfterMs ?? 15_000;
    this.watch = new Informer<StaticSite>({
      kind: STATICSITE_KIND,
      kc,
      path: STATICSITES_PATH,
      labelSelector,
      list: () => listStaticSites(dashboardRequester(kc), { labelSelector }),
      transform: slim,
      onChange: (event, ss) => this.dispatch(ss.metadata.namespace, ss.metadata.name, event === "delete" ? null : ss),
      onStateChange: () => this.checkHealth(),
      log,
      backoff: {
        ...(opts.backoffBaseMs !== undefined ? { baseMs: opts.backoffBaseMs } : {}),
        ...(opts.backoffMaxMs !== undefined ? { maxMs: opts.backoffMaxMs } : {}),
      },
    });
  }

  /** Starts watching in the background; never throws (failures are retried and logged). */
  start(): void {
    this.watch.start();
    // Staleness is a matter of time passing, so it is also checked on a clock.
    this.healthTimer ??= setInterval(() => this.checkHealth(), Math.max(1_000, Math.floor(this.staleAfterMs / 3)));
    this.healthTimer.unref();
  }

  /** Resolves once the first list has arrived (or the hub was stopped). */
  whenSynced(): Promise<void> {
    return this.watch.whenSynced();
  }

  async stop(): Promise<void> {
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.healthTimer = undefined;
    await this.watch.stop();
    this.checkHealth();
  }

  /**
   * True when the cache can be trusted: it has synced and the watch is
   * connected, or was until less than `staleAfterMs` ago. When false, the SSE
   * stream should tell the browser that status may be out of date.
   */
  healthy(): boolean {
    return this.watch.health(this.staleAfterMs).healthy;
  }

  /** True once the first list arrived; before that, get() knows nothing. */
  synced(): boolean {
    return this.watch.state.synced;
  }

  /** The cached StaticSite, or null when there is none (or the hub has not synced yet: check healthy()). */
  get(namespace: string, name: string): StaticSite | null {
    return this.watch.get({ namespace, name }) ?? null;
  }

  list(namespace: string): StaticSite[] {
    return this.watch.list(namespace);
  }

  /** Calls `listener` on every change of one site until the returned function is called. Does not replay the current state: read get() first. */
  subscribe(namespace: string, name: string, listener: SiteListener): () => void {
    return addTo(this.siteListeners, keyString({ namespace, name }), listener);
  }

  /** Calls `listener` on every change of any site in `namespace` (a tenant's site list). */
  subscribeNamespace(namespace: string, listener: NamespaceListener): () => void {
    return addTo(this.namespaceListeners, namespace, listener);
  }

  /** Calls `listener` on every change of every site (the rollout tracker). */
  subscribeAll(listener: AnySiteListener): () => void {
    this.anySiteListeners.add(listener);
    return () => this.anySiteListeners.delete(listener);
  }

  /** Calls `listener` when healthy() flips. */
  onHealthChange(listener: HealthListener): () => void {
    this.healthListeners.add(listener);
    return () => this.healthListeners.delete(listener);
  }

  stats(): StatusHubStats {
    let subscribers = 0;
    for (const set of this.siteListeners.values()) subscribers += set.size;
    for (const set of this.namespaceListeners.values()) subscribers += set.size;
    subscribers += this.anySiteListeners.size;
    return { ...this.watch.state, sites: this.watch.count(), subscribers, healthSubscribers: this.healthListeners.size, healthy: this.healthy() };
  }

  private dispatch(namespace: string, name: string, site: StaticSite | null): void {
    for (const listener of [...(this.siteListeners.get(keyString({ namespace, name })) ?? [])]) {
      safely(() => listener(site), { namespace, name });
    }
    for (const listener of [...(this.namespaceListeners.get(namespace) ?? [])]) {
      safely(() => listener(name, site), { namespace, name });
    }
    for (const listener of [...this.anySiteListeners]) safely(() => listener(namespace, name, site), { namespace, name });
  }

  private checkHealth(): void {
    const healthy = this.healthy();
    if (healthy === this.lastHealthy) return;
    this.lastHealthy = healthy;
    const s = this.watch.state;
    if (healthy) log.info({ sites: this.watch.count() }, "status hub healthy");
    else log.warn({ lastError: s.lastError, failures: s.failures }, "status hub unhealthy: site status may be out of date");
    for (const listener of [...this.healthListeners]) safely(() => listener(healthy), { health: healthy });
  }
}

function addTo<L>(map: Map<string, Set<L>>, key: string, listener: L): () => void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(listener);
  return () => {
    const current = map.get(key);
    if (!current) return;
    current.delete(listener);
    if (current.size === 0) map.delete(key);
  };
}

function safely(fn: () => void, context: Record<string, unknown>): void {
  try {
    fn();
  } catch (err) {
    // One broken subscriber (a closed stream) must not starve the others.
    log.error({ ...context, err: err instanceof Error ? err.message : String(err) }, "status subscriber failed");
  }
}

/** The process's started hub (one watch for every bundle that asks), or null when no cluster is configured. */
export function getStatusHub(): StatusHub | null {
  const conn = clusterConnection();
  if (!conn.configured) return null;
  return processSingleton("statusHub", () => {
    const hub = new StatusHub(conn.kc);
    hub.start();
    return hub;
  });
}
