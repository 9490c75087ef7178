import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export interface TempDir {
  path: string;
  /** Removes the directory and everything in it; safe to call twice. */
  cleanup(): Promise<void>;
}

/**
 * A private (0700, unpredictable name) directory per upload: nothing another
 * request or local user can guess, and one rm to undo everything.
 */
export async function makeTempDir(prefix: string, parent?: string): Promise<TempDir> {
  const dir = await mkdtemp(path.join(parent ?? os.tmpdir(), `${prefix}-`));
  return {
    path: dir,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
