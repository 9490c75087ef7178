import { Zip, ZipDeflate, ZipPassThrough, type ZipInputFile } from "fflate";
import { isCompressedFormat, type FolderFile } from "./folder-files";

// Zip's earliest representable time. Every entry gets it, so the same folder
// zips to the same bytes whenever and wherever it is zipped.
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);

// Output is gathered into Blobs of about this size, which browsers may keep
// on disk, rather than as one growing list of small arrays in memory.
const BLOB_PART_BYTES = 8 * 1024 * 1024;

// Reading a file that is already in memory resolves as a microtask, so a loop
// of reads and deflates never gives the page a turn: no progress is painted
// and input waits until the whole folder is zipped. After this much work the
// loop hands the main thread back. A timer rather than scheduler.yield(),
// whose continuation may run ahead of the render React has queued.
const YIELD_AFTER_MS = 25;

function yieldToPage(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export interface ZipProgress {
  /** Bytes of the folder's files read so far. */
  read: number;
  total: number;
  /** Bytes of zip written so far. */
  written: number;
}

/**
 * Zips the files in the browser as they are read, one file at a time and one
 * chunk at a time (fflate's streaming Zip), so that no file is held whole and
 * the page stays responsive. Text is deflated; formats that are compressed
 * already are stored. `signal` stops it.
 */
export async function zipFolder(files: readonly FolderFile[], onProgress: (progress: ZipProgress) => void, signal?: AbortSignal): Promise<Blob> {
  const total = files.reduce((sum, { file }) => sum + file.size, 0);
  const parts: Blob[] = [];
  let pending: Uint8Array<ArrayBuffer>[] = [];
  let pendingBytes = 0;
  let written = 0;
  let read = 0;
  let workedSince = performance.now();
  // Set by fflate's callback, which runs inside push() and end().
  const outcome: { failure: Error | null; finished: boolean } = { failure: null, finished: false };

  const flush = () => {
    if (pending.length === 0) return;
    parts.push(new Blob(pending));
    pending = [];
    pendingBytes = 0;
  };
  const zip = new Zip((error, chunk, final) => {
    if (error) {
      outcome.failure = error;
      return;
    }
    pending.push(chunk);
    pendingBytes += chunk.length;
    written += chunk.length;
    if (pendingBytes >= BLOB_PART_BYTES) flush();
    if (final) outcome.finished = true;
  });

  for (const { path, file } of files) {
    signal?.throwIfAborted();
    const entry: ZipInputFile & { push(chunk: Uint8Array, final?: boolean): void } = isCompressedFormat(path)
      ? new ZipPassThrough(path)
      : new ZipDeflate(path, { level: 6 });
    entry.mtime = FIXED_MTIME;
    zip.add(entry);
    const reader = file.stream().getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        signal?.throwIfAborted();
        entry.push(value);
        read += value.length;
        if (outcome.failure) throw outcome.failure;
        onProgress({ read, total, written });
        if (performance.now() - workedSince >= YIELD_AFTER_MS) {
          await yieldToPage();
          workedSince = performance.now();
        }
      }
    } finally {
      reader.releaseLock();
    }
    entry.push(new Uint8Array(0), true);
    if (outcome.failure) throw outcome.failure;
  }
  zip.end();
  if (outcome.failure) throw outcome.failure;
  if (!outcome.finished) throw new Error("The zip was not finished.");
  flush();
  onProgress({ read, total, written });
  return new Blob(parts, { type: "application/zip" });
}
