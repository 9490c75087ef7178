import yauzl from "yauzl";
import type { EntryLocation, ZipFile } from "./zip";
import type { ZipReader } from "./zip-reader";

/**
 * Room for the local header's name and extra field when prefetching an
 * entry: they usually mirror the central record's, give or take a few
 * timestamp fields. A miss only costs an extra read.
 */
const LOCAL_HEADER_SLACK = 30 + 512;

/**
 * The compressed bytes of one small entry, usually in a single read: the
 * local header and data are prefetched together, then yauzl locates the
 * data (its readLocalFileHeader also checks it lies inside the file).
 */
export async function readCompressed(zip: ZipFile, reader: ZipReader, loc: EntryLocation): Promise<Buffer> {
  const token = await reader.prefetch(loc.relativeOffsetOfLocalHeader, LOCAL_HEADER_SLACK + loc.fileNameLength + loc.compressedSize);
  try {
    const entry = Object.assign(new yauzl.Entry(), loc);
    const { fileDataStart } = await new Promise<{ fileDataStart: number }>((resolve, reject) => {
      (zip as unknown as LocalHeaderReader).readLocalFileHeader(entry, { minimal: true }, (err, header) => (err ? reject(err) : resolve(header)));
    });
    return await reader.bytes(fileDataStart, loc.compressedSize);
  } finally {
    reader.release(token);
  }
}

interface LocalHeaderReader {
  readLocalFileHeader(entry: yauzl.Entry, opts: { minimal: true }, cb: (err: Error | null, header: { fileDataStart: number }) => void): void;
}
