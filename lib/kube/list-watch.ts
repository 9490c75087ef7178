// A cache of one kind kept current by list + watch, written for a long-lived
// web process that must never crash because the API server misbehaved.
//
// - Lists, then watches from the list's resourceVersion, so nothing is missed.
// - A watch that ends cleanly (server timeout, the client's 30 s inactivity
//   limit) is resumed at once from the last resourceVersion seen (events and
//   bookmarks both advance it).
// - 410 Gone (the resourceVersion is older than the server keeps) relists;
//   the relist is diffed against the cache so subscribers hear only of real
//   changes, including deletions that happened while we were away.
// - Any other failure (refused connection, reset stream, 5xx, a failed list)
//   retries after a capped, jittered exponential backoff. The loop only ends
//   on stop().
//
// Nothing here is specific to StaticSites; the operator's WatchCache solves the
// same problem on top of the client's ListWatch, which gives up after errors.
import { Watch, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import type pino from "pino";

export type ChangeType = "upsert" | "delete";

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export interface ListWatchOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** Collection path in all namespaces, e.g. /apis/pagoda.dev/v1alpha1/staticsites. */
  path: string;
  labelSelector?: string;
  /** Lists the same collection (same selector) with its resourceVersion. */
  list: () => Promise<ListResult<T>>;
  /** Called after the cache changed; never during a relist diff of unchanged objects. */
  onChange: (type: ChangeType, obj: T) => void;
  /** Called whenever the loop connects, loses its connection or (re)syncs. */
  onStateChange?: () => void;
  /** Applied to every object before it is cached (e.g. drop managedFields). */
  transform?: (obj: T) => T;
  log: pino.Logger;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export interface ListWatchState {
  synced: boolean;
  connected: boolean;
  /** Epoch ms of the last list, connect, event or bookmark. */
  lastContact: number;
  /** Consecutive failures; 0 once the API server answered again. */
  failures: number;
  lastError: string | undefined;
  lists: number;
  /** Lists caused by 410 Gone. */
  relistsAfterGone: number;
  watchesStarted: number;
}

/** Delay before retry number `failures` (1-based): base·2^(n-1), capped, with ±20 % jitter so replicas spread out. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  const jittered = Math.min(exponential, maxMs) * (0.8 + 0.4 * random());
  return Math.round(Math.min(jittered, maxMs));
}

/** A Status with code 410, as an error of a request or as a watch ERROR event. */
export function isGone(errOrStatus: unknown): boolean {
  const e = errOrStatus as { statusCode?: unknown; code?: unknown } | null | undefined;
  return e?.statusCode === 410 || e?.code === 410;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const code = (err as { statusCode?: unknown }).statusCode;
    return `${code ? `HTTP ${String(code)}: ` : ""}${err.message}${cause instanceof Error ? `: ${cause.message}` : ""}`;
  }
  return String(err);
}

/** A watch that closed within this long without delivering anything is treated as a failure, to avoid a hot loop. */
const MIN_HEALTHY_WATCH_MS = 1_000;

type WatchOutcome = "closed" | "gone";

class WatchEventError extends Error {
  constructor(readonly status: { code?: number; message?: string; reason?: string }) {
    super(`watch reported an error: ${status.message ?? status.reason ?? "unknown"}`);
    this.name = "WatchEventError";
  }
}

export class ResilientListWatch<T extends KubernetesObject> {
  private readonly objects = new Map<string, T>();
  private readonly watcher: Watch;
  private resourceVersion = "";
  private stopped = true;
  private loop: Promise<void> | undefined;
  private request: AbortController | undefined;
  /** Set when the current request is being aborted on purpose, and why. */
  private abortReason: "stop" | "break" | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private syncWaiters: (() => void)[] = [];
  /** Watch events of any type received, to tell a working watch from one that closes at once. */
  private eventsSeen = 0;
  private readonly st: ListWatchState = {
    synced: false,
    connected: false,
    lastContact: 0,
    failures: 0,
    lastError: undefined,
    lists: 0,
    relistsAfterGone: 0,
    watchesStarted: 0,
  };

  constructor(private readonly opts: ListWatchOptions<T>) {
    this.watcher = new Watch(opts.kc);
  }

  static key(namespace: string | undefined, name: string | undefined): string {
    return `${namespace ?? ""}/${name ?? ""}`;
  }

  get state(): Readonly<ListWatchState> {
    return { ...this.st };
  }

  get(namespace: string, name: string): T | undefined {
    return this.objects.get(ResilientListWatch.key(namespace, name));
  }

  list(namespace?: string): T[] {
    const all = [...this.objects.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  /** Starts the loop (idempotent); it runs until stop(). Never rejects. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Resolves after the first successful list (or stop). */
  whenSynced(): Promise<void> {
    if (this.st.synced || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abortCurrent("stop");
    this.wake?.();
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    await this.loop;
    this.setConnected(false);
  }

  /**
   * Drops the current watch connection as a network failure would, optionally
   * pretending our last resourceVersion is `staleResourceVersion` (the server
   * then answers 410 Gone and we relist). For tests and for an operator who
   * wants to force a resync.
   */
  breakConnection(opts: { staleResourceVersion?: string } = {}): void {
    if (opts.staleResourceVersion !== undefined) this.resourceVersion = opts.staleResourceVersion;
    this.abortCurrent("break");
  }

  private abortCurrent(reason: "stop" | "break"): void {
    if (!this.request) return;
    this.abortReason = reason;
    this.request.abort();
  }

  /**
   * Records a sign of life. Only data (a list, an event) proves the watch
   * works and resets the backoff; a server that accepts a watch and then
   * fails it at once must not be retried at the base delay forever.
   */
  private markContact(data = true): void {
    this.st.lastContact = Date.now();
    if (!data) return;
    this.st.failures = 0;
    this.st.lastError = undefined;
  }

  private setConnected(connected: boolean): void {
    if (this.st.connected === connected) return;
    this.st.connected = connected;
    this.notifyState();
  }

  private notifyState(): void {
    try {
      this.opts.onStateChange?.();
    } catch (err) {
      this.opts.log.error({ err: describe(err) }, "watch state listener failed");
    }
  }

  private emit(type: ChangeType, obj: T): void {
    try {
      this.opts.onChange(type, obj);
    } catch (err) {
      this.opts.log.error({ err: describe(err), type }, "watch change listener failed");
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const justListed = !this.resourceVersion;
        if (justListed) await this.relist();
        if (this.stopped) break;
        const started = Date.now();
        const eventsBefore = this.eventsSeen;
        const outcome = await this.watchOnce();
        if (outcome === "gone") {
          this.st.relistsAfterGone++;
          this.opts.log.info({ path: this.opts.path }, "watch resourceVersion expired (410 Gone); relisting");
          this.resourceVersion = "";
          // A fresh list's resourceVersion expiring at once is not normal; do not relist in a hot loop.
          if (this.eventsSeen === eventsBefore + 1 && justListed) throw new Error("watch from a fresh list expired at once (410 Gone)");
          continue;
        }
        // A watch that ends at once, having delivered nothing, would loop hot.
        if (Date.now() - started < MIN_HEALTHY_WATCH_MS && this.eventsSeen === eventsBefore) {
          throw new Error("watch closed immediately after it was opened");
        }
        // It stayed open for a while and ended normally: the API server is fine.
        this.st.failures = 0;
        this.st.lastError = undefined;
      } catch (err) {
        if (this.stopped) break;
        if (isGone(err)) {
          this.st.relistsAfterGone++;
          this.opts.log.info({ path: this.opts.path }, "watch resourceVersion expired (HTTP 410); relisting");
          this.resourceVersion = "";
          continue;
        }
        await this.backoff(err);
      }
    }
  }

  private async backoff(err: unknown): Promise<void> {
    this.st.failures++;
    this.st.lastError = describe(err);
    const delay = backoffDelay(this.st.failures, this.opts.backoffBaseMs ?? 500, this.opts.backoffMaxMs ?? 30_000);
    this.opts.log.warn({ path: this.opts.path, err: this.st.lastError, failures: this.st.failures, retryInMs: delay }, "watch failed; retrying");
    this.notifyState();
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, delay);
    });
    clearTimeout(this.sleepTimer);
    this.wake = undefined;
  }

  private async relist(): Promise<void> {
    const result = await this.opts.list();
    if (this.stopped) return;
    this.st.lists++;
    const fresh = new Map<string, T>();
    for (const raw of result.items) {
      const obj = this.opts.transform ? this.opts.transform(raw) : raw;
      fresh.set(ResilientListWatch.key(obj.metadata?.namespace, obj.metadata?.name), obj);
    }
    const removed: T[] = [];
    for (const [key, old] of this.objects) if (!fresh.has(key)) removed.push(old);
    const changed: T[] = [];
    for (const [key, obj] of fresh) {
      const old = this.objects.get(key);
      if (!old || old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) changed.push(obj);
    }
    this.objects.clear();
    for (const [key, obj] of fresh) this.objects.set(key, obj);
    this.resourceVersion = result.resourceVersion;
    this.markContact();
    const firstSync = !this.st.synced;
    this.st.synced = true;
    for (const obj of removed) this.emit("delete", obj);
    for (const obj of changed) this.emit("upsert", obj);
    if (firstSync) for (const resolve of this.syncWaiters.splice(0)) resolve();
    this.notifyState();
  }

  private handleEvent(type: string, raw: unknown): "gone" | WatchEventError | undefined {
    this.eventsSeen++;
    if (type === "ERROR") {
      const status = (raw ?? {}) as { code?: number; message?: string; reason?: string };
      return isGone(status) ? "gone" : new WatchEventError(status);
    }
    const obj = raw as T;
    const rv = obj?.metadata?.resourceVersion;
    if (type === "BOOKMARK") {
      if (rv) this.resourceVersion = rv;
      this.markContact();
      return undefined;
    }
    if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED") return undefined;
    const value = this.opts.transform ? this.opts.transform(obj) : obj;
    const key = ResilientListWatch.key(value.metadata?.namespace, value.metadata?.name);
    if (type === "DELETED") this.objects.delete(key);
    else this.objects.set(key, value);
    if (rv) this.resourceVersion = rv;
    this.markContact();
    this.emit(type === "DELETED" ? "delete" : "upsert", value);
    return undefined;
  }

  private watchOnce(): Promise<WatchOutcome> {
    return new Promise<WatchOutcome>((resolve, reject) => {
      let finished = false;
      let failure: "gone" | WatchEventError | undefined;
      const done = (err: unknown): void => {
        if (finished) return;
        finished = true;
        this.request = undefined;
        const reason = this.abortReason;
        this.abortReason = undefined;
        const timedOut = !!err && (err as { name?: unknown }).name === "TimeoutError";
        // A watch that ends cleanly (the server's timeout, or the client's
        // limit on a quiet one) was in touch until now: counting that keeps
        // health from flickering every 30 s while it resumes.
        if (!failure && reason === undefined && (!err || timedOut)) this.markContact(false);
        this.setConnected(false);
        if (failure === "gone") resolve("gone");
        else if (failure) reject(failure);
        else if (reason === "stop") resolve("closed");
        else if (reason === "break") reject(new Error("watch connection was broken on request"));
        // The client aborts a watch that stayed silent for 30 s; resuming is all it takes.
        else if (timedOut) resolve("closed");
        else if (err) reject(err instanceof Error ? err : new Error(describe(err)));
        else resolve("closed");
      };
      this.st.watchesStarted++;
      const query = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
      };
      this.watcher
        .watch(
          this.opts.path,
          query,
          (type: string, obj: unknown) => {
            if (finished || failure) return;
            const result = this.handleEvent(type, obj);
            if (result) failure = result;
          },
          done,
        )
        .then((controller) => {
          if (finished) return;
          this.request = controller;
          if (this.stopped) {
            this.abortCurrent("stop");
            return;
          }
          this.markContact(false);
          this.setConnected(true);
        })
        .catch((err: unknown) => done(err));
    });
  }
}
