// A cache of one kind kept current by the client's ListWatch, which relists on
// 410 Gone and reconnects after clean closes and timeouts, but gives up after
// any other error (a failed list, a dropped connection, the API server being
// down). This wrapper restarts it with capped exponential backoff, resuming
// from the last resourceVersion when it can, and records when it last heard
// from the API server so /readyz can report a stalled watch.
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import type pino from "pino";
import { trimObject } from "../../operator/cache-trim";
import { apiErrorMessage } from "./request";
import type { OperatorMetrics } from "../../operator/metrics";

export type WatchVerb = "add" | "update" | "delete";

export interface WatchCacheOptions<T extends KubernetesObject> {
  kind: string;
  /** Collection path for all namespaces, e.g. /apis/apps/v1/deployments. */
  path: string;
  list: (labelSelector?: string) => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  kc: KubeConfig;
  metrics: OperatorMetrics;
  log: pino.Logger;
  onEvent: (verb: WatchVerb, obj: T) => void;
  /** Drops in place what the operator never reads, before the object is used or kept; default trimObject. */
  trim?: (obj: T) => void;
  restartBaseMs?: number;
  restartMaxMs?: number;
}

export class WatchCache<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private syncedOnce = false;
  private syncWaiters: (() => void)[] = [];
  /** Epoch ms of the last sign of life from the API server for this watch. */
  lastContact = 0;
  /** Set while the watch is down and waiting to be restarted. */
  lastError: string | undefined;
  /** An error arrived since the informer last announced an attempt ("connect"). */
  private failedSinceConnect = false;

  constructor(private readonly opts: WatchCacheOptions<T>) {
    const list = async (): Promise<KubernetesListObject<T>> => {
      const result = await opts.list(opts.labelSelector);
      this.markContact();
      if (!this.syncedOnce) {
        this.syncedOnce = true;
        for (const resolve of this.syncWaiters.splice(0)) resolve();
      }
      return result;
    };
    this.informer = new ListWatch<T>(opts.path, new Watch(opts.kc), list, false, opts.labelSelector);
    // "connect" announces an attempt, not a success: the informer emits it
    // before it lists or watches. Only when the attempt before it ended
    // without an error (a quiet watch's clean close or timeout) is it a sign
    // of life; otherwise, with the API server down, every restart would look
    // like contact and readiness would never report the watch as down.
    this.informer.on("connect", () => {
      if (!this.failedSinceConnect) this.markContact();
      this.failedSinceConnect = false;
    });
    for (const verb of ["add", "update", "delete"] as const) {
      this.informer.on(verb, (obj: T) => {
        // The cache stores this very object (operator/cache-trim.ts says why it is trimmed).
        (opts.trim ?? trimObject)(obj);
        this.markContact();
        opts.metrics.watchEvents.inc({ kind: opts.kind });
        opts.onEvent(verb, obj);
      });
    }
    this.informer.on("error", (err: unknown) => this.scheduleRestart(err));
  }

  get kind(): string {
    return this.opts.kind;
  }

  get synced(): boolean {
    return this.syncedOnce;
  }

  private markContact(): void {
    this.lastContact = Date.now();
    this.lastError = undefined;
    this.failures = 0;
  }

  private scheduleRestart(err: unknown): void {
    if (this.stopped || this.restartTimer) return;
    this.failures++;
    this.failedSinceConnect = true;
    const base = this.opts.restartBaseMs ?? 500;
    const max = this.opts.restartMaxMs ?? 30_000;
    const delay = Math.min(base * 2 ** Math.min(this.failures - 1, 20), max);
    this.lastError = apiErrorMessage(err);
    this.opts.metrics.watchRestarts.inc({ kind: this.opts.kind });
    this.opts.log.warn({ kind: this.opts.kind, err: this.lastError, retryInMs: delay, failures: this.failures }, "watch failed; restarting");
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      // start() resumes from the last resourceVersion; a 410 answer makes it relist.
      this.informer.start().catch((e: unknown) => this.scheduleRestart(e));
    }, delay);
  }

  /** Starts listing and watching; resolves once the first list arrived. */
  async start(): Promise<void> {
    const synced = new Promise<void>((resolve) => {
      if (this.syncedOnce) resolve();
      else this.syncWaiters.push(resolve);
    });
    this.informer.start().catch((err: unknown) => this.scheduleRestart(err));
    await synced;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    await this.informer.stop();
  }

  get(name: string, namespace: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }
}
