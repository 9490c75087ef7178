import { open as openFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import yauzl from "yauzl";
import { UploadError, zipLibraryError } from "./errors";
import { ZipBlockReader } from "./zip-block-reader";

/**
 * Thin promise layer over yauzl. Options and why:
 * - lazyEntries: one central-directory record at a time, so memory follows
 *   what we keep, not what the zip claims to hold.
 * - autoClose off: entries are read back in sorted order after the whole
 *   directory has been checked, so the file must stay open until we say so.
 * - decodeStrings off: yauzl's own name check fails the whole zip with one
 *   generic message; we decode with yauzl's getFileNameLowLevel and run our
 *   own checks, which name the entry and say exactly what is wrong (and then
 *   run yauzl's validateFileName as a backstop).
 * - strictFileNames on: backslashes are reported, not silently turned into
 *   folder separators, so "a\..\..\x" can never change meaning.
 * - validateEntrySizes off: yauzl would report a lying stored-entry size
 *   before telling us the entry's name; we enforce declared sizes ourselves
 *   while inflating (see normalize.ts) and can name the entry.
 */
const ZIP_OPTIONS = {
  lazyEntries: true,
  autoClose: false,
  decodeStrings: false,
  strictFileNames: true,
  validateEntrySizes: false,
} as const;

export type ZipFile = yauzl.ZipFile;
export type ZipEntry = yauzl.Entry & { fileNameRaw: Buffer };

/** What we keep of an entry between the two passes: no names, no extra fields. */
export interface EntryLocation {
  generalPurposeBitFlag: number;
  compressionMethod: number;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
  relativeOffsetOfLocalHeader: number;
  /**
   * Where the entry's data starts, from its local header: set by
   * checkLocalHeaders once that header has been read and compared with the
   * central record, -1 before. Data is only ever read from here, so the
   * bytes that are unpacked are the bytes whose range was checked.
   */
  fileDataStart: number;
}

/** An entry's local header, as yauzl reads it (raw name and extra field). */
export interface LocalHeader {
  fileDataStart: number;
  generalPurposeBitFlag: number;
  compressionMethod: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  fileName: Buffer;
  extraField: Buffer;
}

type LowLevelName = (flags: number, raw: Buffer, extraFields: { id: number; data: Buffer }[], strict: boolean) => string;
const getFileNameLowLevel = (yauzl as unknown as { getFileNameLowLevel: LowLevelName }).getFileNameLowLevel;

export function entryName(entry: ZipEntry): string {
  return getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
}

export interface OpenedZip {
  zip: ZipFile;
  reader: ZipBlockReader;
  /** Closes the zip and waits for its file descriptor to be released. */
  close(): Promise<void>;
}

export async function openZip(zipPath: string): Promise<OpenedZip> {
  const handle = await openFile(zipPath, "r");
  const reader = new ZipBlockReader(handle, zipPath);
  const closed = new Promise<void>((resolve, reject) => {
    reader.once("close", resolve);
    reader.once("error", reject);
  });
  closed.catch(() => undefined);
  let zip: ZipFile;
  try {
    const { size } = await handle.stat();
    zip = await new Promise<ZipFile>((resolve, reject) => {
      yauzl.fromRandomAccessReader(reader, size, ZIP_OPTIONS, (err, z) => (err ? reject(err) : resolve(z)));
    });
  } catch (err) {
    await handle.close();
    throw await classifyOpenError(zipPath, err);
  }
  return {
    zip,
    reader,
    close: async () => {
      zip.close();
      await closed;
    },
  };
}

async function classifyOpenError(zipPath: string, err: unknown): Promise<Error> {
  const message = err instanceof Error ? err.message : String(err);
  const head = await readHead(zipPath);
  const looksLikeZip = head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5 || head[2] === 7);
  if (/end of central directory record signature not found/i.test(message)) {
    return looksLikeZip
      ? new UploadError(
          "truncated",
          "The zip file is incomplete: its table of contents is missing, usually because the upload or the download before it was cut short. Please create the zip again.",
          { cause: err },
        )
      : new UploadError("not_a_zip", "This file is not a zip archive. Upload a .zip of your site's folder.", { cause: err });
  }
  return zipLibraryError(err, { stage: "open" });
}

async function readHead(zipPath: string): Promise<Buffer> {
  const handle = await openFile(zipPath, "r");
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await handle.read(buf, 0, 4, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The next central-directory record, or null at the end. */
export function readNextEntry(zip: ZipFile): Promise<ZipEntry | null> {
  return new Promise((resolve, reject) => {
    const onEntry = (entry: ZipEntry) => {
      detach();
      resolve(entry);
    };
    const onEnd = () => {
      detach();
      resolve(null);
    };
    const onError = (err: Error) => {
      detach();
      reject(err);
    };
    const detach = () => {
      zip.off("entry", onEntry);
      zip.off("end", onEnd);
      zip.off("error", onError);
    };
    zip.on("entry", onEntry);
    zip.on("end", onEnd);
    zip.on("error", onError);
    zip.readEntry();
  });
}

export function locationOf(entry: ZipEntry): EntryLocation {
  return {
    generalPurposeBitFlag: entry.generalPurposeBitFlag,
    compressionMethod: entry.compressionMethod,
    compressedSize: entry.compressedSize,
    uncompressedSize: entry.uncompressedSize,
    crc32: entry.crc32,
    relativeOffsetOfLocalHeader: entry.relativeOffsetOfLocalHeader,
    fileDataStart: -1,
  };
}

interface LocalHeaderReader {
  readLocalFileHeader(entry: yauzl.Entry, opts: { minimal: false }, cb: (err: Error | null, header: LocalHeader) => void): void;
  openReadStreamLowLevel(
    fileDataStart: number,
    compressedSize: number,
    relativeStart: number,
    relativeEnd: number,
    decompress: boolean,
    uncompressedSize: number,
    cb: (err: Error | null, stream: Readable) => void,
  ): void;
}

/**
 * The local header of an entry, parsed by yauzl, which also checks its
 * signature and that the data it announces lies inside the file.
 */
export function readLocalHeader(zip: ZipFile, loc: EntryLocation): Promise<LocalHeader> {
  // yauzl documents Entry as constructible; it only needs these fields.
  const entry = Object.assign(new yauzl.Entry(), loc);
  return new Promise((resolve, reject) => {
    (zip as unknown as LocalHeaderReader).readLocalFileHeader(entry, { minimal: false }, (err, header) => (err ? reject(err) : resolve(header)));
  });
}

export function assertLocated(loc: EntryLocation): number {
  if (loc.fileDataStart < 0) throw new Error("entry data read before its local header was checked");
  return loc.fileDataStart;
}

/** Inflated contents of an entry whose local header checkLocalHeaders has read. */
export function openEntryStream(zip: ZipFile, loc: EntryLocation): Promise<Readable> {
  const start = assertLocated(loc);
  return new Promise((resolve, reject) => {
    (zip as unknown as LocalHeaderReader).openReadStreamLowLevel(
      start,
      loc.compressedSize,
      0,
      loc.compressedSize,
      loc.compressionMethod === 8,
      loc.uncompressedSize,
      (err, stream) => (err ? reject(err) : resolve(stream)),
    );
  });
}
