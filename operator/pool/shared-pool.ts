// What the site reconciles and the controller share about the pool: each
// site's entry in the desired map (set by its own reconcile), the numbered
// map made from them, the replicas' reports, and the token.
import type pino from "pino";
import { objectHash } from "../child-drift";
import { PoolGenerations, sortEntries } from "./desired";
import { PoolReplicas, type PoolReplicasOptions } from "./replicas";
import type { PoolDesired, PoolSite } from "./protocol";
import type { ReplicaReport } from "./status";

/** What a site reconcile needs of the pool. */
export interface SharedPoolView {
  /** PAGODA_OPERATOR_POOL_IMAGE is set. */
  readonly configured: boolean;
  /** The pool's namespace, where shared sites' custom domains get their Ingresses and Certificates (operator/pool/domains.ts). */
  readonly namespace: string | undefined;
  reports(): ReplicaReport[];
  /** The pool serves the site, or was asked to: its entry in the map, or a replica's report. */
  inPool(key: string): boolean;
  /** Hosts the pool is asked to serve for the site (for the incumbent rule of host arbitration). */
  entryHosts(key: string): readonly string[] | undefined;
  /** The site's entry from its reconcile; undefined takes it out of the map. */
  setEntry(key: string, entry: PoolSite | undefined): void;
}

/** For an operator without a pool: nothing is served, nothing is asked. */
export const NO_POOL: SharedPoolView = {
  configured: false,
  namespace: undefined,
  reports: () => [],
  inPool: () => false,
  entryHosts: () => undefined,
  setEntry: () => undefined,
};

export interface SharedPoolOptions extends Omit<PoolReplicasOptions, "token" | "desired" | "onGenerationSeen"> {
  namespace: string;
  /** Asks for the map to be made again soon (the controller's work queue merges repeated asks). */
  schedulePublish: () => void;
  log: pino.Logger;
}

export class SharedPool implements SharedPoolView {
  readonly configured = true;
  readonly namespace: string;
  readonly replicas: PoolReplicas;
  private readonly entries = new Map<string, { entry: PoolSite; hash: string }>();
  private readonly generations = new PoolGenerations();
  private token: string | undefined;
  private begun = false;

  constructor(private readonly opts: SharedPoolOptions) {
    this.namespace = opts.namespace;
    this.replicas = new PoolReplicas({
      ...opts,
      token: () => this.token,
      desired: () => this.generations.desired,
      onGenerationSeen: (generation) => {
        if (this.generations.seen(generation)) opts.schedulePublish();
      },
    });
  }

  setToken(token: string): void {
    this.token = token;
    this.replicas.desiredChanged();
  }

  reports(): ReplicaReport[] {
    return this.replicas.reports();
  }

  inPool(key: string): boolean {
    // An entry for previews only (a dedicated site's, with no hosts) does not serve the site.
    return (this.entries.get(key)?.entry.hosts.length ?? 0) > 0 || this.replicas.servedKeys().has(key);
  }

  entryHosts(key: string): readonly string[] | undefined {
    return this.entries.get(key)?.entry.hosts;
  }

  setEntry(key: string, entry: PoolSite | undefined): void {
    const before = this.entries.get(key);
    if (!entry) {
      if (before) {
        this.entries.delete(key);
        this.opts.schedulePublish();
      }
      return;
    }
    const hash = objectHash(entry);
    if (before?.hash === hash) return;
    this.entries.set(key, { entry, hash });
    this.opts.schedulePublish();
  }

  /**
   * Keys of every site the pool serves on its hosts: all of them hear of a
   * replica coming or going. Not the dedicated sites' entries (the mirror,
   * previews), whose status no replica count is part of.
   */
  keys(): string[] {
    return [...this.entries].filter(([, e]) => e.entry.hosts.length > 0).map(([key]) => key);
  }

  /**
   * From now on maps are made: every site has been reconciled once since
   * this instance took the lead. Before that the entries are partial, and a
   * map made from them would take the missing sites off every replica.
   */
  begin(): void {
    this.begun = true;
    this.opts.schedulePublish();
  }

  /** Makes the map from the entries; the replicas behind it are sent it when it is new. Nothing before begin(). */
  publish(): PoolDesired | undefined {
    if (!this.begun) return undefined;
    const before = this.generations.desired?.generation;
    const desired = this.generations.update(sortEntries([...this.entries.values()].map((e) => e.entry)));
    if (desired.generation !== before) {
      this.opts.log.info({ generation: desired.generation, sites: desired.sites.length }, "new desired map for the pool");
      this.replicas.desiredChanged();
    }
    return desired;
  }
}
