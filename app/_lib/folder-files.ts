import { IGNORE_FILE, parseIgnoreRules, type IgnoreRules } from "@/lib/uploads/ignore-file";
import { isJunk } from "@/lib/uploads/junk";

export { IGNORE_FILE };

/** No .pagodaignore: only the ignore file's own name is left out. */
export const NO_IGNORE_RULES: IgnoreRules = parseIgnoreRules(null);

/**
 * Folders at the top of the chosen folder that a deploy leaves out, as the
 * pagoda CLI does by default (cli/src/walk.ts): version control (its history
 * and any secret ever committed) and installed dependencies (build input, not
 * the built site).
 */
export const LEFT_OUT_FOLDERS: readonly string[] = [".git", "node_modules"];

const LEFT_OUT = new Set(LEFT_OUT_FOLDERS);

/**
 * A folder whose whole content stays out, checked before a dropped folder is
 * read: the folders above at the top, and the junk folders the server drops
 * from any zip (.git, __MACOSX, .svn…) wherever they are.
 */
export function isLeftOutFolder(name: string, atTop: boolean): boolean {
  return (atTop && LEFT_OUT.has(name)) || isJunk([name], true);
}

/**
 * Whether a file at `path` (relative to the chosen folder, "/" between
 * segments) belongs in the deploy. Besides the folders above, what the server
 * drops from any zip (.DS_Store, Thumbs.db, __MACOSX, ._ files) is left out
 * here too, so it is not sent at all, and so is what the folder's
 * .pagodaignore leaves out (`rules`, read as the CLI reads it): the file, or
 * any folder it is in, the way a folder the CLI skips is never entered.
 */
export function keepInDeploy(path: string, rules: IgnoreRules = NO_IGNORE_RULES): boolean {
  const segments = path.split("/").filter((segment) => segment !== "");
  if (segments.length === 0) return false;
  if (segments.length > 1 && LEFT_OUT.has(segments[0]!)) return false;
  if (isJunk(segments, false)) return false;
  for (let depth = 1; depth < segments.length; depth++) {
    if (rules.ignores(segments.slice(0, depth).join("/"), true)) return false;
  }
  return !rules.ignores(segments.join("/"), false);
}

/** The rules of a .pagodaignore's contents, or none when the folder has no such file. */
export async function readIgnoreRules(file: Blob | null): Promise<IgnoreRules> {
  return file ? parseIgnoreRules(await file.text()) : NO_IGNORE_RULES;
}

export interface FolderFile {
  /** Path inside the deploy, relative to the chosen folder. */
  path: string;
  file: Blob;
}

/**
 * The files of a folder chosen with a folder picker, whose relative paths all
 * start with the folder's own name ("dist/index.html"): that name is taken
 * off, so the zip holds the folder's content as the CLI's does, and what the
 * deploy should not carry is left out. Sorted by path, so the same folder
 * gives the same zip.
 */
export function folderFiles(
  files: readonly { file: Blob; relativePath: string }[],
  rules: IgnoreRules = NO_IGNORE_RULES,
): { files: FolderFile[]; leftOut: number } {
  const kept: FolderFile[] = [];
  let leftOut = 0;
  for (const { file, relativePath } of files) {
    const path = insideFolder(relativePath);
    if (keepInDeploy(path, rules)) kept.push({ path, file });
    else leftOut += 1;
  }
  kept.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files: kept, leftOut };
}

/** A picked file's path inside the chosen folder ("dist/a/b.html" → "a/b.html"). */
function insideFolder(relativePath: string): string {
  const slash = relativePath.indexOf("/");
  return slash === -1 ? relativePath : relativePath.slice(slash + 1);
}

/**
 * folderFiles with the chosen folder's own .pagodaignore (at its top, as the
 * CLI reads it) applied.
 */
export async function pickedFolderFiles(files: readonly { file: Blob; relativePath: string }[]): Promise<{ files: FolderFile[]; leftOut: number }> {
  const ignoreFile = files.find(({ relativePath }) => insideFolder(relativePath) === IGNORE_FILE)?.file ?? null;
  return folderFiles(files, await readIgnoreRules(ignoreFile));
}

/** The folder's name from a picked file's relative path ("dist/a/b.html" → "dist"). */
export function folderName(relativePath: string): string {
  const slash = relativePath.indexOf("/");
  return slash === -1 ? relativePath : relativePath.slice(0, slash);
}

// Formats that are compressed already: deflating them again costs time in
// the browser and saves nothing, so they are stored as they are.
const COMPRESSED = new Set([
  "png",
  "jpg",
  "jpeg",
  "gif",
  "webp",
  "avif",
  "heic",
  "ico",
  "woff",
  "woff2",
  "gz",
  "br",
  "zst",
  "zip",
  "7z",
  "mp3",
  "mp4",
  "m4a",
  "webm",
  "ogg",
  "ogv",
  "mov",
  "pdf",
]);

export function isCompressedFormat(path: string): boolean {
  const dot = path.lastIndexOf(".");
  if (dot === -1 || dot < path.lastIndexOf("/")) return false;
  return COMPRESSED.has(path.slice(dot + 1).toLowerCase());
}
