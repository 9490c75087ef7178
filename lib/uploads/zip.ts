import { open as openFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import yauzl from "yauzl";
import { UploadError } from "./errors";
import { ZipReader } from "./zip-reader";

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
  fileNameLength: number;
  compressionMethod: number;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
  relativeOffsetOfLocalHeader: number;
}

type LowLevelName = (flags: number, raw: Buffer, extraFields: { id: number; data: Buffer }[], strict: boolean) => string;
const getFileNameLowLevel = (yauzl as unknown as { getFileNameLowLevel: LowLevelName }).getFileNameLowLevel;

export function entryName(entry: ZipEntry): string {
  return getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
}

export interface OpenedZip {
  zip: ZipFile;
  reader: ZipReader;
  /** Closes the zip and waits for its file descriptor to be released. */
  close(): Promise<void>;
}

export async function openZip(zipPath: string): Promise<OpenedZip> {
  const handle = await openFile(zipPath, "r");
  const reader = new ZipReader(handle, zipPath);
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

async function classifyOpenError(zipPath: string, err: unknown): Promise<UploadError> {
  const message = err instanceof Error ? err.message : String(err);
  const head = await readHead(zipPath);
  const looksLikeZip = head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5 || head[2] === 7);
  if (/end of central directory record signature not found/i.test(message)) {
    return looksLikeZip
      ? new UploadError("truncated", "The zip file is incomplete: its table of contents is missing, usually because the upload or the download before it was cut short. Please create the zip again.", { cause: err })
      : new UploadError("not_a_zip", "This file is not a zip archive. Upload a .zip of your site's folder.", { cause: err });
  }
  return new UploadError("corrupt", `The zip file is damaged and cannot be read (${message}). Please create it again.`, { cause: err });
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
    fileNameLength: entry.fileNameLength,
    compressionMethod: entry.compressionMethod,
    compressedSize: entry.compressedSize,
    uncompressedSize: entry.uncompressedSize,
    crc32: entry.crc32,
    relativeOffsetOfLocalHeader: entry.relativeOffsetOfLocalHeader,
  };
}

/** Inflated contents of an entry recorded by locationOf in the first pass. */
export function openEntryStream(zip: ZipFile, loc: EntryLocation): Promise<Readable> {
  // yauzl documents Entry as constructible; it only needs these fields.
  const entry = Object.assign(new yauzl.Entry(), loc);
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}
