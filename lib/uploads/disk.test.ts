import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DiskReservations, planReservation, volumeOf } from "./disk";
import { makeTmp } from "./test-support";

const MiB = 1024 * 1024;

describe("planReservation", () => {
  it("adds up needs that share a volume and keeps the reserve free", () => {
    const needs = [
      { dir: "/tmp", volume: "1", freeBytes: 1000 * MiB, bytes: 200 * MiB },
      { dir: "/data/artifacts", volume: "1", freeBytes: 1000 * MiB, bytes: 100 * MiB },
    ];
    expect(planReservation(needs, new Map(), 700 * MiB)).toEqual({ ok: true, take: new Map([["1", 300 * MiB]]) });
    const short = planReservation(needs, new Map(), 701 * MiB);
    expect(short).toEqual({ ok: false, shortfall: { dir: "/tmp", freeBytes: 1000 * MiB, neededBytes: 300 * MiB, reserveBytes: 701 * MiB } });
  });

  it("checks each volume on its own and counts what uploads in progress have claimed", () => {
    const needs = [
      { dir: "/tmp", volume: "1", freeBytes: 400 * MiB, bytes: 200 * MiB },
      { dir: "/data", volume: "2", freeBytes: 10_000 * MiB, bytes: 100 * MiB },
    ];
    expect(planReservation(needs, new Map(), 100 * MiB).ok).toBe(true);
    const busy = planReservation(needs, new Map([["1", 150 * MiB]]), 100 * MiB);
    expect(busy).toMatchObject({ ok: false, shortfall: { dir: "/tmp", neededBytes: 350 * MiB } });
  });
});

describe("DiskReservations", () => {
  let work: { dir: string; cleanup(): Promise<void> };
  beforeEach(async () => {
    work = await makeTmp("disk");
  });
  afterEach(async () => {
    await work.cleanup();
  });

  it("measures a directory that does not exist yet at its nearest parent", async () => {
    const here = await volumeOf(work.dir);
    expect(await volumeOf(path.join(work.dir, "not", "made", "yet"))).toEqual({ volume: here.volume, freeBytes: expect.any(Number) });
    expect(here.freeBytes).toBeGreaterThan(0);
  });

  it("lets claims add up until the reserve would be reached, and frees them on release", async () => {
    const { freeBytes } = await volumeOf(work.dir);
    const disk = new DiskReservations();
    // Leave room for exactly two claims of a quarter of what is free (give or take what others write meanwhile).
    const reserve = Math.floor(freeBytes * 0.4);
    const quarter = Math.floor(freeBytes / 4);
    const first = await disk.reserve([{ dir: work.dir, bytes: quarter }], reserve);
    const second = await disk.reserve([{ dir: work.dir, bytes: quarter }], reserve);
    const third = await disk.reserve([{ dir: work.dir, bytes: quarter }], reserve);
    expect([first.ok, second.ok, third.ok]).toEqual([true, true, false]);
    if (!first.ok) return;
    first.reservation.release();
    first.reservation.release();
    expect(Object.values(disk.snapshot())).toEqual([quarter]);
    expect((await disk.reserve([{ dir: work.dir, bytes: quarter }], reserve)).ok).toBe(true);
  });
});
