import { describe, expect, it } from "vitest";
import { SerialRunner, type RunOutcome } from "./serial-runner";

const EXACT = { baseMs: 1, maxMs: 5, jitter: 0 };

/** A promise and the function that settles it, for runs the test lets finish when it wants. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe("SerialRunner", () => {
  it("runs one at a time and folds every kick during a run into one run after it", async () => {
    const first = gate();
    let runs = 0;
    let concurrent = 0;
    let most = 0;
    const runner = new SerialRunner(
      async () => {
        runs++;
        most = Math.max(most, ++concurrent);
        if (runs === 1) await first.opened;
        concurrent--;
        return "done";
      },
      EXACT,
      (error) => {
        throw error;
      },
    );
    runner.kick();
    for (let i = 0; i < 5; i++) runner.kick();
    first.open();
    await runner.settled();
    expect([runs, most, runner.failures]).toEqual([2, 1, 0]);
  });

  it("runs again after a backoff when a run asks to retry or throws, and counts the failures until one is done", async () => {
    const outcomes: (RunOutcome | Error)[] = ["retry", new Error("nginx did not reload"), "done"];
    const errors: unknown[] = [];
    const failuresSeen: number[] = [];
    const done = gate();
    const runner: SerialRunner = new SerialRunner(
      async () => {
        failuresSeen.push(runner.failures);
        const next = outcomes.shift()!;
        if (outcomes.length === 0) setImmediate(done.open);
        if (next instanceof Error) throw next;
        return next;
      },
      EXACT,
      (error) => errors.push(error),
    );
    runner.kick();
    await done.opened;
    await runner.settled();
    expect(failuresSeen).toEqual([0, 1, 2]);
    expect(errors).toHaveLength(1);
    expect(runner.failures).toBe(0);
  });

  it("starts nothing after stop, not even a retry already scheduled", async () => {
    let runs = 0;
    const runner = new SerialRunner(
      async () => {
        runs++;
        return "retry";
      },
      { baseMs: 20, maxMs: 20, jitter: 0 },
      () => undefined,
    );
    runner.kick();
    await runner.settled();
    runner.stop();
    runner.kick();
    // Longer than the scheduled retry's delay: had stop not cleared it, it would have run by now.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(runs).toBe(1);
  });
});
