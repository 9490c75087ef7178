import { afterEach, describe, expect, it, vi } from "vitest";
import type { SiteRef } from "@/lib/publishing/rollout-tracker";
import { MAX_BATCH, SiteCheckQueue } from "@/lib/publishing/site-check-queue";

type Pass = SiteRef[] | "all";

/** A check function whose passes end only when the test says so. */
function controlledChecks() {
  const passes: Pass[] = [];
  const finishers: (() => void)[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const checkSites = (sites: Pass) => {
    passes.push(sites);
    running += 1;
    mostAtOnce = Math.max(mostAtOnce, running);
    return new Promise<void>((resolve) =>
      finishers.push(() => {
        running -= 1;
        resolve();
      }),
    );
  };
  /** Ends the oldest pass still running and lets the queue move on. */
  const finishNext = async () => {
    finishers.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { checkSites, passes, finishNext, mostAtOnce: () => mostAtOnce };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("SiteCheckQueue", () => {
  it("merges what arrives during a pass into the next one, once per site", async () => {
    const c = controlledChecks();
    const queue = new SiteCheckQueue(c.checkSites);
    queue.check({ siteId: "a" });
    queue.check({ siteId: "b" });
    queue.check({ tenantSlug: "t", name: "blog" });
    queue.check({ siteId: "b" });
    queue.check({ tenantSlug: "t", name: "blog" });
    await c.finishNext();
    await c.finishNext();
    await queue.idle();
    expect(c.passes).toEqual([[{ siteId: "a" }], [{ siteId: "b" }, { tenantSlug: "t", name: "blog" }]]);
    expect(c.mostAtOnce()).toBe(1);
  });

  it("runs one pass over everything when every site was asked for", async () => {
    const c = controlledChecks();
    const queue = new SiteCheckQueue(c.checkSites);
    queue.check({ siteId: "a" });
    queue.check({ siteId: "b" });
    queue.checkAll();
    queue.check({ siteId: "c" });
    await c.finishNext();
    await c.finishNext();
    await queue.idle();
    expect(c.passes).toEqual([[{ siteId: "a" }], "all"]);
  });

  it(`turns more than ${MAX_BATCH} waiting sites into one pass over everything`, async () => {
    const c = controlledChecks();
    const queue = new SiteCheckQueue(c.checkSites);
    queue.check({ siteId: "first" });
    for (let i = 0; i <= MAX_BATCH; i++) queue.check({ siteId: `s${i}` });
    await c.finishNext();
    await c.finishNext();
    await queue.idle();
    expect(c.passes).toEqual([[{ siteId: "first" }], "all"]);
  });

  it("keeps going after a failed pass", async () => {
    const passes: Pass[] = [];
    const queue = new SiteCheckQueue(async (sites) => {
      passes.push(sites);
      if (passes.length === 1) throw new Error("database unavailable");
    });
    queue.check({ siteId: "a" });
    await queue.idle();
    queue.check({ siteId: "b" });
    await queue.idle();
    expect(passes).toEqual([[{ siteId: "a" }], [{ siteId: "b" }]]);
  });

  it("merges a burst that follows a pass within the gap into one pass, and checks a lone change at once", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const c = controlledChecks();
    const queue = new SiteCheckQueue(c.checkSites, { minGapMs: 1_000 });
    queue.check({ siteId: "a" });
    expect(c.passes).toEqual([[{ siteId: "a" }]]);
    await c.finishNext();
    for (const id of ["b", "c", "d"]) {
      queue.check({ siteId: id });
      await vi.advanceTimersByTimeAsync(300);
    }
    // 900 ms after the first pass started: the three still wait, together.
    expect(c.passes).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(c.passes).toEqual([[{ siteId: "a" }], [{ siteId: "b" }, { siteId: "c" }, { siteId: "d" }]]);
    await c.finishNext();
    await queue.idle();
    // After a quiet spell longer than the gap, no wait at all.
    await vi.advanceTimersByTimeAsync(5_000);
    queue.check({ siteId: "e" });
    expect(c.passes).toHaveLength(3);
    await c.finishNext();
    await queue.idle();
  });

  it("is idle only once the last pass has ended", async () => {
    const c = controlledChecks();
    const queue = new SiteCheckQueue(c.checkSites);
    queue.check({ siteId: "a" });
    let idle = false;
    const waiting = queue.idle().then(() => {
      idle = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(idle).toBe(false);
    await c.finishNext();
    await waiting;
    expect(idle).toBe(true);
  });
});
