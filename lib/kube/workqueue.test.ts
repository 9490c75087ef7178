import { afterEach, describe, expect, it, vi } from "vitest";
import { WorkQueue, type Handler } from "./workqueue";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function queue(handler: Handler, concurrency = 2, extra: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {}) {
  return new WorkQueue({ handler, concurrency, backoffBaseMs: 100, backoffMaxMs: 1_000, ...extra });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("WorkQueue", () => {
  it("de-duplicates keys that are waiting", async () => {
    const seen: string[] = [];
    const q = queue(async (key) => {
      seen.push(key);
    });
    q.add("a");
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.depth()).toBe(2);
    q.start();
    await q.idle();
    expect(seen.sort()).toEqual(["a", "b"]);
    await q.stop();
  });

  it("runs one handler per key and re-runs a key added while it was active", async () => {
    const gate = deferred();
    let concurrentForA = 0;
    let maxConcurrentForA = 0;
    let runs = 0;
    const q = queue(async () => {
      runs++;
      concurrentForA++;
      maxConcurrentForA = Math.max(maxConcurrentForA, concurrentForA);
      if (runs === 1) await gate.promise;
      concurrentForA--;
    }, 4);
    q.start();
    q.add("a");
    expect(q.activeCount()).toBe(1);
    q.add("a");
    q.add("a");
    expect(q.depth()).toBe(0);
    gate.resolve();
    await q.idle();
    expect(runs).toBe(2);
    expect(maxConcurrentForA).toBe(1);
    await q.stop();
  });

  it("never runs more handlers than its concurrency", async () => {
    const gates = new Map<string, ReturnType<typeof deferred>>();
    let running = 0;
    let maxRunning = 0;
    const q = queue(async (key) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const gate = deferred();
      gates.set(key, gate);
      await gate.promise;
      running--;
    }, 3);
    q.start();
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    expect(q.activeCount()).toBe(3);
    expect(q.depth()).toBe(7);
    while (gates.size > 0 || q.depth() > 0 || q.activeCount() > 0) {
      const [key, gate] = gates.entries().next().value as [string, ReturnType<typeof deferred>];
      gates.delete(key);
      gate.resolve();
      await new Promise((r) => setImmediate(r));
    }
    await q.idle();
    expect(maxRunning).toBe(3);
    await q.stop();
  });

  it("retries failures with exponential backoff up to the cap, and resets after success", async () => {
    vi.useFakeTimers();
    const attempts: number[] = [];
    let failUntil = 6;
    const errors: number[] = [];
    const q = queue(
      async () => {
        attempts.push(Date.now());
        if (attempts.length < failUntil) throw new Error("boom");
      },
      1,
      { onError: (_key, _err, retryInMs) => errors.push(retryInMs) },
    );
    q.start();
    q.add("a");
    await vi.runAllTimersAsync();
    expect(errors).toEqual([100, 200, 400, 800, 1_000]);
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] as number));
    expect(gaps).toEqual([100, 200, 400, 800, 1_000]);

    // A success resets the key's backoff: the next failure retries after the base delay again.
    failUntil = attempts.length + 2;
    errors.length = 0;
    q.add("a");
    await vi.runAllTimersAsync();
    expect(errors).toEqual([100]);
    await q.stop();
  });

  it("requeues after the delay a handler asks for", async () => {
    vi.useFakeTimers();
    let runs = 0;
    const q = queue(async () => {
      runs++;
      return runs < 3 ? { requeueAfterMs: 5_000 } : undefined;
    });
    q.start();
    q.add("a");
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(4_998);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(2);
    expect(runs).toBe(2);
    await vi.runAllTimersAsync();
    expect(runs).toBe(3);
    await q.stop();
  });

  it("forget drops a pending retry", async () => {
    vi.useFakeTimers();
    let runs = 0;
    const q = queue(async () => {
      runs++;
      throw new Error("always");
    });
    q.start();
    q.add("gone");
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(1);
    q.forget("gone");
    await vi.runAllTimersAsync();
    expect(runs).toBe(1);
    await q.stop();
  });

  it("holds keys until started and waits for running handlers on stop", async () => {
    const gate = deferred();
    let finished = false;
    const q = queue(async () => {
      await gate.promise;
      finished = true;
    });
    q.add("a");
    expect(q.activeCount()).toBe(0);
    q.start();
    expect(q.activeCount()).toBe(1);
    const stopping = q.stop();
    q.add("b");
    expect(q.depth()).toBe(0);
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
  });

  it("pause keeps keys until started again", async () => {
    const seen: string[] = [];
    const q = queue(async (key) => {
      seen.push(key);
    });
    q.start();
    q.add("a");
    await q.idle();
    await q.pause();
    q.add("b");
    q.add("b");
    expect(q.depth()).toBe(1);
    expect(seen).toEqual(["a"]);
    q.start();
    await q.idle();
    expect(seen).toEqual(["a", "b"]);
    await q.stop();
  });
});
