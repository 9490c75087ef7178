import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform, type Writable } from "node:stream";
import { ZipFile } from "yazl";
import { parseEntryPath } from "../../lib/uploads/names";
import { assertPlainFileType, S_IFMT } from "../../lib/uploads/refusals";
import { entryName, openZip, readNextEntry, type OpenedZip } from "../../lib/uploads/zip-archive";
import { refusal, type WalkedFile } from "./walk";

/**
 * Every entry gets the same time and mode, so the same folder zips to the
 * same bytes on any machine, in any time zone, whatever the files' times and
 * permissions. The DOS timestamp only (no UTC extra field) and a local
 * 1980-01-01 make that hold across time zones.
 */
export const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);
export const FILE_MODE = 0o100644;

/** Already compressed formats are stored: deflating them again costs CPU and gains nothing. */
const STORED = /\.(png|jpe?g|gif|webp|avif|ico|woff2?|gz|br|zst|zip|7z|mp4|webm|mov|mp3|ogg|m4a|pdf)$/i;

/** yazl 3's lazy entry, which its published types (written for 2.x) do not describe yet. */
type LazyZipFile = ZipFile & {
  addReadStreamLazy(
    name: string,
    options: { mtime: Date; mode: number; compress: boolean; forceDosTimestamp: boolean; size: number },
    open: (cb: (error: Error | null, stream: NodeJS.ReadableStream) => void) => void,
  ): void;
};

/** Streams `files` as a zip into `output`, one file open at a time; resolves with the bytes written. */
export async function writeZip(files: readonly WalkedFile[], output: Writable): Promise<number> {
  const zip = new ZipFile() as LazyZipFile;
  for (const file of files) {
    // Lazy: the file is opened only when the writer reaches it, so ten thousand files never hold ten thousand descriptors.
    zip.addReadStreamLazy(
      file.path,
      { mtime: FIXED_MTIME, mode: FILE_MODE, compress: !STORED.test(file.path), forceDosTimestamp: true, size: file.size },
      (cb) => cb(null, createReadStream(file.absolute)),
    );
  }
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const done = pipeline(zip.outputStream, count, output);
  zip.end();
  await done;
  return bytes;
}

export interface TempZip {
  file: string;
  bytes: number;
  remove: () => Promise<void>;
}

/** The zip goes to a private temp file so the upload can declare its length (the server requires Content-Length). */
export async function zipToTempFile(files: readonly WalkedFile[]): Promise<TempZip> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-deploy-"));
  const remove = () => rm(dir, { recursive: true, force: true });
  const file = path.join(dir, "site.zip");
  try {
    const bytes = await writeZip(files, createWriteStream(file, { mode: 0o600 }));
    return { file, bytes, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/**
 * A zip given as it is is read with the server's own reader for what a folder
 * walk refuses: links, special files and names that escape the site, with the
 * server's wording. Anything else (a damaged zip included) is left for the
 * server to judge and explain.
 */
export async function checkZipEntries(file: string): Promise<void> {
  let opened: OpenedZip;
  try {
    opened = await openZip(file);
  } catch {
    return;
  }
  try {
    for (;;) {
      let entry;
      try {
        entry = await readNextEntry(opened.zip);
      } catch {
        return;
      }
      if (entry === null) return;
      const name = entryName(entry);
      try {
        assertPlainFileType((entry.externalFileAttributes >>> 16) & S_IFMT, name);
        parseEntryPath(name);
      } catch (error) {
        throw refusal(error);
      }
    }
  } finally {
    await opened.close();
  }
}
