import type { FileHandle } from "node:fs/promises";
import yauzl from "yauzl";
import type { EntryLocation, ZipFile } from "./zip";

/**
 * The compressed bytes of one entry, read in one call. yauzl locates them
 * (its readLocalFileHeader also checks they lie inside the file); we read
 * them through our own handle so that small files skip the per-entry
 * stream setup, which dominates when a site has thousands of tiny files.
 */
export async function readCompressed(zip: ZipFile, handle: FileHandle, loc: EntryLocation): Promise<Buffer> {
  const entry = Object.assign(new yauzl.Entry(), loc);
  const { fileDataStart } = await new Promise<{ fileDataStart: number }>((resolve, reject) => {
    (zip as unknown as LocalHeaderReader).readLocalFileHeader(entry, { minimal: true }, (err, header) => (err ? reject(err) : resolve(header)));
  });
  const buf = Buffer.allocUnsafe(loc.compressedSize);
  let filled = 0;
  while (filled < buf.length) {
    const { bytesRead } = await handle.read(buf, filled, buf.length - filled, fileDataStart + filled);
    if (bytesRead === 0) throw new Error("unexpected EOF");
    filled += bytesRead;
  }
  return buf;
}

interface LocalHeaderReader {
  readLocalFileHeader(entry: yauzl.Entry, opts: { minimal: true }, cb: (err: Error | null, header: { fileDataStart: number }) => void): void;
}
