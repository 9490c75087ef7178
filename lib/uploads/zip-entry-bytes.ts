import type { EntryLocation, ZipFile } from "./zip-archive";
import { assertLocated } from "./zip-archive";
import type { ZipBlockReader } from "./zip-block-reader";

/**
 * The compressed bytes of one small entry, in a single read: where they
 * start is known from the local header read by checkLocalHeaders.
 */
export async function readCompressed(_zip: ZipFile, reader: ZipBlockReader, loc: EntryLocation): Promise<Buffer> {
  return reader.bytes(assertLocated(loc), loc.compressedSize);
}
