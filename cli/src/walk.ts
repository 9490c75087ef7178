import { lstatSync, readdirSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { IGNORE_FILE, parseIgnoreRules, type IgnoreRules } from "../../lib/uploads/ignore-file";
import { isJunk } from "../../lib/uploads/junk";
import { parseEntryPath } from "../../lib/uploads/names";
import { specialFileRefusal, symlinkRefusal } from "../../lib/uploads/refusals";
import { CliError } from "./errors";

/** Left out unless --include-all: history and dependencies are never part of a built site. */
export const DEFAULT_EXCLUDED_FOLDERS = [".git", "node_modules"] as const;
export { IGNORE_FILE };

export interface WalkedFile {
  /** "/"-separated, relative to the folder: the name in the zip. */
  path: string;
  absolute: string;
  size: number;
}

export interface WalkOptions {
  includeAll?: boolean;
}

export interface WalkResult {
  files: WalkedFile[];
  totalBytes: number;
  /** Paths left out by the defaults, .pagodaignore or as system junk (folders counted once). */
  skipped: number;
}

/**
 * Lists what a deploy of `root` will contain, sorted, refusing before any
 * byte is sent what the server would refuse in the zip: symbolic links,
 * devices, pipes and sockets, and names it cannot publish. Nothing is
 * followed, so nothing outside the folder can be reached. Only names and
 * sizes are held; contents are read later, one file at a time, by the zip writer.
 * The listing uses the synchronous calls: a CLI has nothing else to do
 * meanwhile, and ten thousand round trips to the thread pool cost seconds.
 */
export async function walkFolder(root: string, opts: WalkOptions = {}): Promise<WalkResult> {
  const info = await stat(root).catch((error: NodeJS.ErrnoException) => {
    throw new CliError("not_found", error.code === "ENOENT" ? `${root} does not exist.` : `${root} cannot be read (${error.code}).`);
  });
  if (!info.isDirectory()) throw new CliError("not_a_folder", `${root} is not a folder.`);
  const rules = await ignoreRules(root);
  const files: WalkedFile[] = [];
  let totalBytes = 0;
  let skipped = 0;

  const visit = (dir: string, prefix: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true });
    entries.sort((a, b) => compareNames(a.name, b.name));
    for (const entry of entries) {
      const rel = prefix + entry.name;
      const absolute = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!opts.includeAll && prefix === "" && (DEFAULT_EXCLUDED_FOLDERS as readonly string[]).includes(entry.name)) {
          skipped += 1;
          continue;
        }
        if (rules.ignores(rel, true) || isJunk(rel.split("/"), true)) {
          skipped += 1;
          continue;
        }
        visit(absolute, `${rel}/`);
        continue;
      }
      if (rel === IGNORE_FILE) continue;
      if (rules.ignores(rel, false)) {
        skipped += 1;
        continue;
      }
      if (entry.isSymbolicLink()) throw refusal(symlinkRefusal(rel));
      if (!entry.isFile()) throw refusal(specialFileRefusal(rel));
      const segments = rel.split("/");
      if (isJunk(segments, false)) {
        skipped += 1;
        continue;
      }
      try {
        parseEntryPath(rel);
      } catch (error) {
        throw refusal(error);
      }
      // lstat, not stat: never follow a link swapped in since the listing (the zip writer checks again when it opens the file).
      const fileInfo = lstatSync(absolute);
      if (!fileInfo.isFile()) throw refusal(fileInfo.isSymbolicLink() ? symlinkRefusal(rel) : specialFileRefusal(rel));
      files.push({ path: rel, absolute, size: fileInfo.size });
      totalBytes += fileInfo.size;
    }
  };

  visit(root, "");
  if (files.length === 0) {
    throw new CliError("empty_folder", `${root} contains no files to deploy${skipped > 0 ? ` (${skipped} left out by the ignore rules)` : ""}.`);
  }
  return { files, totalBytes, skipped };
}

/** Code-unit order of the full name: the same on every machine and locale. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The folder's .pagodaignore, read with the rules the dashboard's folder upload uses (lib/uploads/ignore-file.ts). */
async function ignoreRules(root: string): Promise<IgnoreRules> {
  try {
    return parseIgnoreRules(await readFile(path.join(root, IGNORE_FILE), "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    return parseIgnoreRules(null);
  }
}

/** An upload refusal raised on this side keeps the server's code, words and entry. */
export function refusal(error: unknown): CliError {
  const e = error as { code?: unknown; message?: unknown; entry?: unknown };
  if (typeof e?.code !== "string" || typeof e.message !== "string") throw error;
  return new CliError(e.code, e.message, {
    ...(typeof e.entry === "string" ? { entry: e.entry } : {}),
    hint: "Nothing was uploaded.",
    cause: error,
  });
}
