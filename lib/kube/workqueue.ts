// A keyed work queue in the spirit of client-go's: a key waits at most once,
// at most one handler runs per key, a key added while it is being handled is
// handled again afterwards, failures retry with per-key exponential backoff.
// Keys, not objects, are queued: the handler reads the latest state itself.
import { backoffDelay } from "./backoff";

export interface HandlerResult {
  /** Handle the key again after this long even if nothing changes (e.g. to watch a rollout). */
  requeueAfterMs?: number;
}

export type Handler = (key: string) => Promise<HandlerResult | void>;

export interface WorkQueueOptions {
  handler: Handler;
  concurrency: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Called when a handler throws; the key is retried after `retryInMs`. */
  onError?: (key: string, err: unknown, retryInMs: number, failures: number) => void;
  /** Called after every handler run, for metrics. */
  onDone?: (key: string, outcome: "success" | "error", durationMs: number) => void;
}

export class WorkQueue {
  private readonly waiting: string[] = [];
  private readonly waitingSet = new Set<string>();
  private readonly active = new Set<string>();
  /** Keys added while active: handled again once the current run ends. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private running = 0;
  private stopped = false;
  private paused = true;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: WorkQueueOptions) {
    if (opts.concurrency < 1) throw new Error(`work queue concurrency must be >= 1, got ${opts.concurrency}`);
  }

  /** Start handing keys to the handler; keys added before are kept. */
  start(): void {
    if (this.stopped) throw new Error("work queue was stopped and cannot be restarted");
    this.paused = false;
    this.pump();
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waitingSet.has(key)) return;
    this.waitingSet.add(key);
    this.waiting.push(key);
    this.pump();
  }

  /** Adds the key after `delayMs`; an earlier pending delay for the key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    if (this.timers.has(key)) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, timer);
  }

  /** Drop retry state for a key whose object is gone. */
  forget(key: string): void {
    this.failures.delete(key);
    const timer = this.timers.get(key);
    if (timer) clearTimeout(timer);
    this.timers.delete(key);
  }

  /** Keys waiting to be handled (not counting active or delayed ones). */
  depth(): number {
    return this.waiting.length;
  }

  activeCount(): number {
    return this.active.size;
  }

  backoffFor(failures: number): number {
    // Exact delays: keys fail at different moments, so their retries are spread already.
    return backoffDelay(failures, { baseMs: this.opts.backoffBaseMs, maxMs: this.opts.backoffMaxMs, jitter: 0 });
  }

  /** Resolves when nothing is waiting or active (delayed keys do not count). */
  async idle(): Promise<void> {
    if (this.waiting.length === 0 && this.active.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops handing out keys (they keep accumulating) and waits for the running handlers. */
  async pause(): Promise<void> {
    this.paused = true;
    await Promise.all([...this.inFlight]);
  }

  /** Stops taking keys and waits for the handlers that are running. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.waiting.length = 0;
    this.waitingSet.clear();
    this.dirty.clear();
    await Promise.all([...this.inFlight]);
    this.notifyIdle();
  }

  private pump(): void {
    while (!this.paused && !this.stopped && this.running < this.opts.concurrency && this.waiting.length > 0) {
      const key = this.waiting.shift() as string;
      this.waitingSet.delete(key);
      this.running++;
      this.active.add(key);
      const run = this.process(key).finally(() => {
        this.inFlight.delete(run);
      });
      this.inFlight.add(run);
    }
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.waiting.length > 0 || this.active.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private async process(key: string): Promise<void> {
    // This run observes the latest state, so a pending delayed retry is moot;
    // the run decides again whether to requeue.
    const timer = this.timers.get(key);
    if (timer) clearTimeout(timer);
    this.timers.delete(key);
    const started = performance.now();
    let requeueAfterMs: number | undefined;
    let retryInMs: number | undefined;
    try {
      const result = await this.opts.handler(key);
      this.failures.delete(key);
      requeueAfterMs = result?.requeueAfterMs;
      this.opts.onDone?.(key, "success", performance.now() - started);
    } catch (err) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      retryInMs = this.backoffFor(failures);
      this.opts.onDone?.(key, "error", performance.now() - started);
      this.opts.onError?.(key, err, retryInMs, failures);
    } finally {
      this.active.delete(key);
      this.running--;
    }
    if (!this.stopped) {
      if (this.dirty.delete(key)) this.add(key);
      else if (retryInMs !== undefined) this.addAfter(key, retryInMs);
      else if (requeueAfterMs !== undefined) this.addAfter(key, requeueAfterMs);
    }
    this.pump();
  }
}
