/**
 * Files that operating systems and tools leave behind and that nobody means
 * to publish. Dropping them (rather than refusing) is what a person expects
 * from "drop a zip", and it keeps them out of the digest so the same site
 * zipped on a Mac and on Windows deploys as the same artifact.
 *
 * Version-control folders are dropped too: publishing .git would leak the
 * site's whole history and any secret ever committed.
 */
const JUNK_FOLDERS = new Set(["__macosx", ".git", ".svn", ".hg", ".spotlight-v100", ".trashes", ".fseventsd", ".temporaryitems"]);
const JUNK_FILES = new Set([".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", ".directory"]);

export function isJunk(segments: readonly string[], isFolder: boolean): boolean {
  const last = segments.length - 1;
  for (let i = 0; i < segments.length; i++) {
    const lower = (segments[i] ?? "").toLowerCase();
    const isFolderSegment = i < last || isFolder;
    if (isFolderSegment && JUNK_FOLDERS.has(lower)) return true;
    if (!isFolderSegment) {
      if (JUNK_FILES.has(lower)) return true;
      // AppleDouble resource forks ("._name") carry Finder metadata only.
      if (lower.startsWith("._")) return true;
    }
  }
  return false;
}
