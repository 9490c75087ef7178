import { lstat, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/**
 * The directories the upload pipeline makes with makeTempDir: mkdtemp adds
 * exactly six characters to the prefix. Nothing else in the temp dir is ours.
 */
const OURS = /^pagoda-(upload|normalize)-[A-Za-z0-9]{6}$/;

export interface SweepResult {
  removed: string[];
  /** Ours, but touched too recently to be a leftover: another process may be using them. */
  kept: number;
}

/**
 * Removes upload temp directories left behind by a process that died
 * mid-upload. Only our own names, only real directories owned by this user,
 * and only when neither the directory nor anything directly in it was
 * modified for `olderThanMs`: a live upload writes its files as it goes,
 * and no upload lasts longer than that (see longestUploadMs).
 */
export async function sweepStaleTempDirs(opts: { olderThanMs: number; parent?: string; now?: number }): Promise<SweepResult> {
  const parent = opts.parent ?? os.tmpdir();
  const now = opts.now ?? Date.now();
  const uid = process.getuid?.();
  const result: SweepResult = { removed: [], kept: 0 };
  for (const name of await readdir(parent)) {
    if (!OURS.test(name)) continue;
    const dir = path.join(parent, name);
    const info = await lstat(dir).catch(ignoreVanished);
    if (!info?.isDirectory() || (uid !== undefined && info.uid !== uid)) continue;
    const newest = await newestChange(dir, info.mtimeMs);
    if (newest === null) continue;
    if (now - newest < opts.olderThanMs) {
      result.kept += 1;
      continue;
    }
    await rm(dir, { recursive: true, force: true });
    result.removed.push(dir);
  }
  return result;
}

async function newestChange(dir: string, own: number): Promise<number | null> {
  const entries = await readdir(dir).catch(ignoreVanished);
  if (entries === null) return null;
  let newest = own;
  for (const entry of entries) {
    const info = await lstat(path.join(dir, entry)).catch(ignoreVanished);
    if (info) newest = Math.max(newest, info.mtimeMs);
  }
  return newest;
}

/** Another process may finish its upload and remove its directory while we look. */
function ignoreVanished(error: unknown): null {
  if ((error as { code?: unknown }).code === "ENOENT") return null;
  throw error;
}
