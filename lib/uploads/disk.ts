import { stat, statfs } from "node:fs/promises";
import path from "node:path";

/** Bytes an upload may write under a directory, at worst. */
export interface DiskNeed {
  dir: string;
  bytes: number;
}

export interface VolumeState {
  /** The filesystem's device id: two directories on one volume share it. */
  volume: string;
  /** Bytes an unprivileged writer may still use (statfs bavail × bsize). */
  freeBytes: number;
}

export interface Shortfall {
  dir: string;
  freeBytes: number;
  neededBytes: number;
  reserveBytes: number;
}

/**
 * Adds the needs up per volume and checks each against what is free, less
 * what uploads already in progress have reserved there, less the reserve.
 * Returns what to reserve per volume, or the first volume that is short.
 */
export function planReservation(
  needs: readonly (DiskNeed & VolumeState)[],
  reserved: ReadonlyMap<string, number>,
  reserveBytes: number,
): { ok: true; take: Map<string, number> } | { ok: false; shortfall: Shortfall } {
  const take = new Map<string, number>();
  const first = new Map<string, DiskNeed & VolumeState>();
  for (const need of needs) {
    take.set(need.volume, (take.get(need.volume) ?? 0) + need.bytes);
    if (!first.has(need.volume)) first.set(need.volume, need);
  }
  for (const [volume, bytes] of take) {
    const { dir, freeBytes } = first.get(volume)!;
    const neededBytes = bytes + (reserved.get(volume) ?? 0);
    if (freeBytes - neededBytes < reserveBytes) return { ok: false, shortfall: { dir, freeBytes, neededBytes, reserveBytes } };
  }
  return { ok: true, take };
}

/** The volume a directory lives on; a directory not made yet is measured at its nearest existing parent. */
export async function volumeOf(dir: string): Promise<VolumeState> {
  let probe = path.resolve(dir);
  for (;;) {
    try {
      const [info, fs] = await Promise.all([stat(probe), statfs(probe, { bigint: true })]);
      return { volume: String(info.dev), freeBytes: Number(fs.bavail * fs.bsize) };
    } catch (error) {
      const parent = path.dirname(probe);
      if ((error as { code?: unknown }).code !== "ENOENT" || parent === probe) throw error;
      probe = parent;
    }
  }
}

export interface DiskReservation {
  release(): void;
}

/**
 * This process's claims on disk for uploads in progress. Free space as
 * statfs reports it already shows what those uploads have written so far,
 * so counting their whole claim again errs on the side of refusing.
 */
export class DiskReservations {
  private readonly reserved = new Map<string, number>();

  async reserve(needs: readonly DiskNeed[], reserveBytes: number): Promise<{ ok: true; reservation: DiskReservation } | { ok: false; shortfall: Shortfall }> {
    const measured = await Promise.all(needs.map(async (need) => ({ ...need, ...(await volumeOf(need.dir)) })));
    // No await between the check and the claim: two uploads cannot both pass on the same free bytes.
    const plan = planReservation(measured, this.reserved, reserveBytes);
    if (!plan.ok) return plan;
    for (const [volume, bytes] of plan.take) this.reserved.set(volume, (this.reserved.get(volume) ?? 0) + bytes);
    let released = false;
    return {
      ok: true,
      reservation: {
        release: () => {
          if (released) return;
          released = true;
          for (const [volume, bytes] of plan.take) {
            const left = (this.reserved.get(volume) ?? 0) - bytes;
            if (left > 0) this.reserved.set(volume, left);
            else this.reserved.delete(volume);
          }
        },
      },
    };
  }

  /** Bytes claimed per volume, for logs and tests. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.reserved);
  }
}
