// A cache of one kind kept current by list + watch: the operator's caches and
// the dashboard's status hub are both this. It must keep a long-lived process
// correct whatever the API server does, and never crash it.
//
// - Lists, then watches from the list's resourceVersion, so nothing is missed.
// - A watch that ends cleanly (the server's timeout, the client's 30 s
//   inactivity limit) is resumed at once from the last resourceVersion seen;
//   events and bookmarks both advance it.
// - 410 Gone (that resourceVersion is older than the server keeps) relists,
//   and the relist is diffed against the cache, so listeners hear only of
//   real changes, including deletions that happened while we were away.
// - Any other failure (refused connection, reset stream, 5xx, a failed list)
//   retries after a capped, jittered exponential backoff (lib/kube/backoff.ts).
//   The loop only ends on stop().
// - Contact with the API server is recorded, so callers can tell a synced,
//   live cache from one whose watch has been down for a while (health()).
//
// Nothing here knows what it caches or who uses it: logging, metrics and the
// meaning of each change come in through the options.
import { ApiException, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { backoffDelay, type BackoffPolicy } from "./backoff";
import { keyOf, keyString, type ObjectKey } from "./object-key";
import { apiErrorMessage, isGone, KubeApiError } from "./request";
import { KubeWatch } from "./watch";

/** Same names as client-go's handlers: a relist that finds an object it did not know reports "add". */
export type InformerEvent = "add" | "update" | "delete";

export interface ListResult<T> {
  items: T[];
  /** Snapshot the list was read at; a watch from here misses nothing. */
  resourceVersion: string;
}

/** What the informer logs with; a pino logger fits. */
export interface InformerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface InformerOptions<T extends KubernetesObject> {
  /** Names the cache in logs, health reasons and hooks, e.g. "Deployment". */
  kind: string;
  kc: KubeConfig;
  /** Collection path in all namespaces, e.g. /apis/apps/v1/deployments. */
  path: string;
  labelSelector?: string;
  /** Lists the same collection with the same selector. */
  list: () => Promise<ListResult<T>>;
  /** Called after the cache changed, with the object as cached; never for a relisted object that did not change. */
  onChange: (type: InformerEvent, obj: T) => void;
  /** Called whenever the watch connects, loses its connection, fails or (re)syncs. */
  onStateChange?: () => void;
  /**
   * Applied to every object before it is cached or handed to onChange, to drop
   * what the caller never reads. It returns a copy and must not change its
   * argument: the argument may still be referenced by whoever produced it (a
   * list result, a test), and a pure function can be tested alone. A shallow
   * copy of the parts it rewrites is enough and costs little next to the
   * parsing of the object itself.
   */
  transform?: (obj: T) => T;
  /** Called before each retry, e.g. to count watch restarts. */
  onRetry?: (err: unknown, retryInMs: number, failures: number) => void;
  log: InformerLog;
  backoff?: Partial<Omit<BackoffPolicy, "jitter">>;
}

export interface InformerState {
  synced: boolean;
  connected: boolean;
  /** Epoch ms of the last list, answered watch request, event or bookmark. */
  lastContact: number;
  /** Consecutive failures; 0 once the API server delivered data again. */
  failures: number;
  /** The last failure, until data arrives again. */
  lastError: string | undefined;
  lists: number;
  /** Lists caused by 410 Gone. */
  relistsAfterGone: number;
  watchesStarted: number;
}

export interface InformerHealth {
  healthy: boolean;
  /** Why not, when not. */
  reason?: string;
}

const DEFAULT_BACKOFF = { baseMs: 500, maxMs: 30_000 };

/** The API server's explanation; the watch's own errors carry only a status code and text, so the code is added. */
function describe(err: unknown): string {
  const code = err instanceof ApiException || err instanceof KubeApiError ? undefined : (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === "number" ? `HTTP ${code}: ${apiErrorMessage(err)}` : apiErrorMessage(err);
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

/** The changes that turn `before` into `after`, matched by key and compared by resourceVersion. Exported for its unit test. */
export function diffRelist<T extends KubernetesObject>(
  before: ReadonlyMap<string, T>,
  after: ReadonlyMap<string, T>,
): { added: T[]; updated: T[]; deleted: T[] } {
  const added: T[] = [];
  const updated: T[] = [];
  const deleted: T[] = [];
  for (const [key, old] of before) if (!after.has(key)) deleted.push(old);
  for (const [key, obj] of after) {
    const old = before.get(key);
    if (!old) added.push(obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) updated.push(obj);
  }
  return { added, updated, deleted };
}

export class Informer<T extends KubernetesObject> {
  /** By namespace, then name: the reconciler reads one namespace at a time, and must not pay for all of them. */
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private size = 0;
  private readonly watcher: KubeWatch;
  private readonly policy: BackoffPolicy;
  private resourceVersion = "";
  private stopped = true;
  private loop: Promise<void> | undefined;
  private request: AbortController | undefined;
  /** Ends the watch being opened or read, as if it had closed; set while one is. */
  private endWatch: (() => void) | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private syncWaiters: (() => void)[] = [];
  /** Watch events of any type received, to tell a working watch from one that closes at once. */
  private eventsSeen = 0;
  private readonly st: InformerState = {
    synced: false,
    connected: false,
    lastContact: 0,
    failures: 0,
    lastError: undefined,
    lists: 0,
    relistsAfterGone: 0,
    watchesStarted: 0,
  };

  constructor(private readonly opts: InformerOptions<T>) {
    this.watcher = new KubeWatch(opts.kc);
    this.policy = { ...DEFAULT_BACKOFF, ...opts.backoff };
  }

  get kind(): string {
    return this.opts.kind;
  }

  get state(): Readonly<InformerState> {
    return { ...this.st };
  }

  /**
   * Healthy: synced, and the watch is connected or was in touch with the API
   * server less than `staleAfterMs` ago (resuming a watch takes a moment and
   * must not count as an outage).
   */
  health(staleAfterMs: number, now: number = Date.now()): InformerHealth {
    const { kind } = this.opts;
    const error = this.st.lastError ? `: ${this.st.lastError}` : "";
    if (!this.st.synced) return { healthy: false, reason: `${kind} cache not synced${error}` };
    const silentMs = now - this.st.lastContact;
    if (this.st.connected || silentMs <= staleAfterMs) return { healthy: true };
    return { healthy: false, reason: `${kind} watch down for ${Math.round(silentMs / 1000)} s${error}` };
  }

  get(key: ObjectKey): T | undefined {
    return this.byNamespace.get(key.namespace)?.get(key.name);
  }

  /** The cached objects of one namespace, or of all. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.byNamespace.get(namespace)?.values() ?? [])];
    const all: T[] = [];
    for (const objects of this.byNamespace.values()) for (const obj of objects.values()) all.push(obj);
    return all;
  }

  count(): number {
    return this.size;
  }

  /** Starts the loop (idempotent); it runs until stop(). Never throws: failures are retried and logged. */
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
    this.request?.abort();
    // A watch request the API server has not answered yet cannot be aborted
    // from here (the client owns it); stop does not wait for it.
    this.endWatch?.();
    this.wake?.();
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    await this.loop;
    this.setConnected(false);
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
      this.opts.log.error({ kind: this.opts.kind, err: describe(err) }, "watch state listener failed");
    }
  }

  private emit(type: InformerEvent, obj: T): void {
    try {
      this.opts.onChange(type, obj);
    } catch (err) {
      // One failing listener must not stop the cache: it would go stale for everyone.
      this.opts.log.error({ kind: this.opts.kind, err: describe(err), type }, "watch change listener failed");
    }
  }

  private store(obj: T): T | undefined {
    const { namespace, name } = keyOf(obj);
    let objects = this.byNamespace.get(namespace);
    if (!objects) {
      objects = new Map();
      this.byNamespace.set(namespace, objects);
    }
    const old = objects.get(name);
    if (!old) this.size++;
    objects.set(name, obj);
    return old;
  }

  private remove(obj: T): void {
    const { namespace, name } = keyOf(obj);
    const objects = this.byNamespace.get(namespace);
    if (!objects?.delete(name)) return;
    this.size--;
    if (objects.size === 0) this.byNamespace.delete(namespace);
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
        if (this.stopped) break;
        if (outcome === "gone") {
          this.st.relistsAfterGone++;
          this.opts.log.info({ kind: this.opts.kind, path: this.opts.path }, "watch resourceVersion expired (410 Gone); relisting");
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
          this.opts.log.info({ kind: this.opts.kind, path: this.opts.path }, "watch resourceVersion expired (HTTP 410); relisting");
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
    const delay = backoffDelay(this.st.failures, this.policy);
    this.opts.log.warn(
      { kind: this.opts.kind, path: this.opts.path, err: this.st.lastError, failures: this.st.failures, retryInMs: delay },
      "watch failed; retrying",
    );
    this.opts.onRetry?.(err, delay, this.st.failures);
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
    const before = new Map<string, T>();
    for (const obj of this.list()) before.set(keyString(keyOf(obj)), obj);
    const after = new Map<string, T>();
    for (const raw of result.items) {
      const obj = this.opts.transform ? this.opts.transform(raw) : raw;
      after.set(keyString(keyOf(obj)), obj);
    }
    const { added, updated, deleted } = diffRelist(before, after);
    this.byNamespace.clear();
    this.size = 0;
    for (const obj of after.values()) this.store(obj);
    this.resourceVersion = result.resourceVersion;
    this.markContact();
    const firstSync = !this.st.synced;
    this.st.synced = true;
    for (const obj of deleted) this.emit("delete", obj);
    for (const obj of added) this.emit("add", obj);
    for (const obj of updated) this.emit("update", obj);
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
    let event: InformerEvent = "delete";
    if (type === "DELETED") this.remove(value);
    else event = this.store(value) ? "update" : "add";
    if (rv) this.resourceVersion = rv;
    this.markContact();
    this.emit(event, value);
    return undefined;
  }

  private watchOnce(): Promise<WatchOutcome> {
    return new Promise<WatchOutcome>((resolve, reject) => {
      let finished = false;
      let opened = false;
      let failure: "gone" | WatchEventError | undefined;
      const done = (err: unknown): void => {
        if (finished) return;
        finished = true;
        this.request = undefined;
        this.endWatch = undefined;
        const timedOut = !!err && (err as { name?: unknown }).name === "TimeoutError";
        // A watch that was answered and then ended cleanly (the server's
        // timeout, or the client's limit on a quiet one) was in touch until
        // now: counting that keeps health from flickering every 30 s while it
        // resumes. A request that timed out before any answer is an outage.
        if (!failure && !this.stopped && opened && (!err || timedOut)) this.markContact(false);
        this.setConnected(false);
        if (failure === "gone") resolve("gone");
        else if (failure) reject(failure);
        else if (this.stopped) resolve("closed");
        else if (timedOut && opened) resolve("closed");
        else if (timedOut) reject(new Error("the API server did not answer the watch request in time"));
        else if (err) reject(err instanceof Error ? err : new Error(describe(err)));
        else resolve("closed");
      };
      this.endWatch = () => done(undefined);
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
            if (!result) return;
            failure = result;
            // Nothing after an ERROR event is worth reading; the loop decides what comes next.
            this.request?.abort();
          },
          done,
        )
        .then((controller) => {
          if (finished || this.stopped) {
            controller.abort();
            return;
          }
          opened = true;
          this.request = controller;
          this.markContact(false);
          this.setConnected(true);
        })
        .catch((err: unknown) => done(err));
    });
  }
}
