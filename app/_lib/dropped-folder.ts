import { IGNORE_FILE, isLeftOutFolder, keepInDeploy, readIgnoreRules, type FolderFile } from "./folder-files";

/** What was dropped on the upload area: one zip, one folder, or something we cannot take. */
export type Dropped = { kind: "zip"; file: File } | { kind: "folder"; name: string; entry: FileSystemDirectoryEntry } | { kind: "refused"; message: string };

export function classifyDrop(transfer: DataTransfer): Dropped {
  const items = [...transfer.items].filter((item) => item.kind === "file");
  const entries = items.map((item) => item.webkitGetAsEntry?.() ?? null);
  if (items.length !== 1) return { kind: "refused", message: "Drop one folder or one .zip file." };
  const entry = entries[0];
  if (entry?.isDirectory) return { kind: "folder", name: entry.name, entry: entry as FileSystemDirectoryEntry };
  const file = transfer.files[0];
  if (!file) return { kind: "refused", message: "Drop one folder or one .zip file." };
  return { kind: "zip", file };
}

function readBatch(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** The dropped folder's own .pagodaignore, if it has one at its top. */
function ignoreFileOf(root: FileSystemDirectoryEntry): Promise<File | null> {
  return new Promise((resolve) =>
    root.getFile(
      IGNORE_FILE,
      {},
      (entry) => (entry as FileSystemFileEntry).file(resolve, () => resolve(null)),
      // Not there (or a folder of that name): no rules, as for the CLI.
      () => resolve(null),
    ),
  );
}

/**
 * Every file of a dropped folder, paths relative to it. Folders a deploy
 * leaves out (.git, a top-level node_modules, what its .pagodaignore names…)
 * are not even read, so a large node_modules costs nothing. Sorted by path.
 */
export async function readDroppedFolder(root: FileSystemDirectoryEntry): Promise<{ files: FolderFile[]; leftOut: number }> {
  const files: FolderFile[] = [];
  let leftOut = 0;
  const rules = await readIgnoreRules(await ignoreFileOf(root));
  const walk = async (directory: FileSystemDirectoryEntry, prefix: string): Promise<void> => {
    const reader = directory.createReader();
    // readEntries hands out a directory's entries in batches until it returns none.
    for (let batch = await readBatch(reader); batch.length > 0; batch = await readBatch(reader)) {
      for (const entry of batch) {
        const path = `${prefix}${entry.name}`;
        if (entry.isDirectory) {
          if (isLeftOutFolder(entry.name, prefix === "") || rules.ignores(path, true)) leftOut += 1;
          else await walk(entry as FileSystemDirectoryEntry, `${path}/`);
        } else if (keepInDeploy(path, rules)) {
          files.push({ path, file: await fileOf(entry as FileSystemFileEntry) });
        } else {
          leftOut += 1;
        }
      }
    }
  };
  await walk(root, "");
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, leftOut };
}
