import type { EntryLocation, ZipFile } from "./zip";
import { assertLocated } from "./zip";
import type { ZipReader } from "./zip-reader";

/**
 * The compressed bytes of one small entry, in a single read: where they
 * start is known from the local header read by checkLocalHeaders.
 */
export async function readCompressed(_zip: ZipFile, reader: ZipReader, loc: EntryLocation): Promise<Buffer> {
  return reader.bytes(assertLocated(loc), loc.compressedSize);
}
