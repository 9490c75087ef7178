import { closeSync, constants, createReadStream, fstatSync, openSync, readSync } from "node:fs";
import { Readable } from "node:stream";
import { ZipFile } from "yazl";
import { parseEntryPath } from "../../lib/uploads/names";
import { assertPlainFileType, S_IFMT, specialFileRefusal, symlinkRefusal } from "../../lib/uploads/refusals";
import { entryName, openZip, readNextEntry, type OpenedZip } from "../../lib/uploads/zip-archive";
import { CliError } from "./errors";
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
    open: (cb: (error: Error | null, stream?: Readable) => void) => void,
  ): void;
};

/** Files up to this size are read in one synchronous call; larger ones are streamed. */
const READ_AT_ONCE_BYTES = 1024 * 1024;
// O_NONBLOCK: a FIFO swapped in after the listing must not hang the open.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Every deflated small file of one zip is read into the same buffer instead
 * of a new one per file: thousands of short-lived buffers outside the
 * JavaScript heap are only returned when the collector gets round to them,
 * and were a large part of the CLI's memory. Safe because yazl writes one
 * entry at a time and opens the next only after the previous one's deflate
 * stream has ended, that is, after zlib has consumed all of its input. A
 * stored file's bytes go on to the connection as they are, so each gets a
 * buffer of its own.
 */
class ReadBuffers {
  private shared: Buffer | null = null;

  for(size: number, deflated: boolean): Buffer {
    if (!deflated) return Buffer.allocUnsafe(size);
    this.shared ??= Buffer.allocUnsafeSlow(READ_AT_ONCE_BYTES);
    return this.shared.subarray(0, size);
  }
}

/**
 * Opens a listed file for the zip without following a link, and refuses it
 * if it is no longer the regular file of the same size that was listed.
 * `deflated`: its bytes are only read by zlib, so the shared buffer may hold them.
 */
function openListed(file: WalkedFile, buffers: ReadBuffers, deflated: boolean): Readable {
  let fd: number;
  try {
    fd = openSync(file.absolute, OPEN_FLAGS);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") throw refusal(symlinkRefusal(file.path));
    throw error;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw refusal(specialFileRefusal(file.path));
    if (info.size !== file.size) {
      throw new CliError("file_changed", `${file.path} changed while the folder was being zipped; deploy again once the build has finished.`);
    }
    if (file.size <= READ_AT_ONCE_BYTES) {
      const data = buffers.for(file.size, deflated);
      let read = 0;
      while (read < file.size) {
        const n = readSync(fd, data, read, file.size - read, read);
        if (n === 0) break;
        read += n;
      }
      closeSync(fd);
      return Readable.from([data.subarray(0, read)]);
    }
    return createReadStream("", { fd, autoClose: true, highWaterMark: 256 * 1024 });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

export interface ZipStream {
  /** The zip's bytes, with backpressure: nothing is read ahead of what the consumer takes. */
  output: Readable;
  /** Rejects if a file cannot be read or is refused on opening. */
  done: Promise<void>;
}

/**
 * Zips `files` in their order as a stream, opening one file at a time when
 * the writer reaches it, so ten thousand files never hold ten thousand
 * descriptors and memory does not grow with the folder. `onFile` is told
 * the uncompressed bytes of each file as it is taken in.
 */
export function zipStream(files: readonly WalkedFile[], onFile?: (bytes: number) => void): ZipStream {
  const zip = new ZipFile() as LazyZipFile;
  const output = zip.outputStream as unknown as Readable;
  const buffers = new ReadBuffers();
  const done = new Promise<void>((resolve, reject) => {
    zip.on("error", reject);
    output.on("end", resolve);
    output.on("error", reject);
  });
  for (const file of files) {
    const compress = !STORED.test(file.path);
    zip.addReadStreamLazy(file.path, { mtime: FIXED_MTIME, mode: FILE_MODE, compress, forceDosTimestamp: true, size: file.size }, (cb) => {
      let stream: Readable;
      try {
        stream = openListed(file, buffers, compress);
      } catch (error) {
        cb(error as Error);
        return;
      }
      onFile?.(file.size);
      cb(null, stream);
    });
  }
  zip.end();
  // yazl reports a failed entry on the ZipFile; the output must fail too, or its reader waits forever.
  zip.on("error", (error: Error) => output.destroy(error));
  return { output, done };
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
