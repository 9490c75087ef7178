import { hash } from "node:crypto";
import { setImmediate } from "node:timers/promises";
import yauzl from "yauzl";
import { UploadError, zipLibraryError } from "./errors";
import { quoteName } from "./format";
import { readLocalHeader, type EntryLocation, type LocalHeader, type ZipFile } from "./zip-archive";

/** One central-directory record, as kept for the local-header pass. */
export interface CentralRecord {
  /** Shared with the planned file, which gets its fileDataStart from here. */
  location: EntryLocation;
  /** The name as decoded for messages. */
  source: string;
  /** Digest of the raw name bytes: the raw names themselves are not kept. */
  nameDigest: string;
}

export function nameDigest(raw: Buffer): string {
  return hash("sha256", raw, "base64");
}

const YIELD_EVERY_ENTRIES = 256;
const DATA_DESCRIPTOR = 0x0008;
/** Bits that change how an entry is read or what its name means: encryption, strong encryption, UTF-8 names. */
const MEANINGFUL_FLAGS = 0x0001 | 0x0040 | 0x0800;
const ZIP64_SENTINEL = 0xffffffff;
const ZIP64_EXTRA = 0x0001;
/** Longest local name quoted back in a message; a local header may hold 64 KiB of it. */
const QUOTED_NAME_MAX = 300;

/**
 * Second look at every entry, in the order of their data in the file: reads
 * each local header (through yauzl) and refuses the zip when
 *
 * - the entry's true byte range (header, its own name and extra field, then
 *   the data) overlaps the previous one: entries sharing data are how
 *   non-recursive zip bombs multiply one blob, and a header hidden in the
 *   previous one's extra field is seen by streaming readers but not by us,
 *   or the other way round;
 * - the local header says something different from the central record
 *   (name, method, the flags that matter, sizes and CRC unless they are
 *   deferred to a data descriptor): trusted readers refuse such zips,
 *   because programs that read local headers (streaming unzippers, some
 *   scanners) would unpack something other than what we checked.
 *
 * Sets each location's fileDataStart. Reads are in increasing offset order,
 * so the reader's block cache serves many headers per read and, all told,
 * the file is read about once, whatever the central directory claims.
 */
export async function checkLocalHeaders(zip: ZipFile, records: CentralRecord[]): Promise<void> {
  records.sort((a, b) => a.location.relativeOffsetOfLocalHeader - b.location.relativeOffsetOfLocalHeader);
  let previous: { end: number; source: string } | null = null;
  for (const [i, record] of records.entries()) {
    if (i % YIELD_EVERY_ENTRIES === YIELD_EVERY_ENTRIES - 1) await setImmediate();
    const { location, source } = record;
    const start = location.relativeOffsetOfLocalHeader;
    if (previous && start < previous.end) {
      throw new UploadError(
        "overlapping_entries",
        `The entries ${quoteName(previous.source)} and ${quoteName(source)} share bytes in the zip (one lies inside the other's header or data), which honest zip tools never produce.`,
        { entry: source },
      );
    }
    let local: LocalHeader;
    try {
      local = await readLocalHeader(zip, location);
    } catch (err) {
      throw zipLibraryError(err, { stage: "entry", entry: source });
    }
    const differs = mismatch(record, local);
    if (differs) {
      throw new UploadError(
        "zip_header_mismatch",
        `The zip describes ${quoteName(source)} in two different ways: ${differs}. Zip tools never do that; such a zip is crafted so that different programs unpack different files. Create the zip again with a standard zip tool.`,
        { entry: source },
      );
    }
    location.fileDataStart = local.fileDataStart;
    previous = { end: local.fileDataStart + location.compressedSize, source };
  }
}

/** What the local header says differently from the central record, in words, or null. */
function mismatch(record: CentralRecord, local: LocalHeader): string | null {
  const central = record.location;
  if (nameDigest(local.fileName) !== record.nameDigest) {
    return `its own header names it ${quoteName(localName(local))}`;
  }
  if (((local.generalPurposeBitFlag ^ central.generalPurposeBitFlag) & MEANINGFUL_FLAGS) !== 0) {
    return "its own header has different encryption or name-encoding flags";
  }
  if (local.compressionMethod !== central.compressionMethod) {
    return `its own header says compression method ${local.compressionMethod}, the table of contents method ${central.compressionMethod}`;
  }
  // With a data descriptor, the local header may leave CRC and sizes zero:
  // the real ones follow the data, and we use the central record's.
  if ((local.generalPurposeBitFlag & DATA_DESCRIPTOR) !== 0) return null;
  if (local.crc32 >>> 0 !== central.crc32 >>> 0) return "its own header gives a different checksum (CRC-32)";
  const sizes = localSizes(local, record.source);
  if (sizes.compressed !== central.compressedSize || sizes.uncompressed !== central.uncompressedSize) {
    return "its own header gives different sizes";
  }
  return null;
}

/** The local sizes, with ZIP64 sentinels resolved from the local ZIP64 extra field. */
function localSizes(local: LocalHeader, source: string): { compressed: number; uncompressed: number } {
  let { compressedSize: compressed, uncompressedSize: uncompressed } = local;
  if (compressed !== ZIP64_SENTINEL && uncompressed !== ZIP64_SENTINEL) return { compressed, uncompressed };
  let fields: { id: number; data: Buffer }[];
  try {
    fields = (yauzl as unknown as { parseExtraFields(b: Buffer): { id: number; data: Buffer }[] }).parseExtraFields(local.extraField);
  } catch (err) {
    throw zipLibraryError(err, { stage: "entry", entry: source });
  }
  const data = fields.find((f) => f.id === ZIP64_EXTRA)?.data ?? Buffer.alloc(0);
  const read = (at: number) => (data.length >= at + 8 ? Number(data.readBigUInt64LE(at)) : -1);
  // A local ZIP64 field holds both sizes (APPNOTE 4.5.3); some writers put
  // only the ones that overflowed, in order.
  if (data.length >= 16) return { uncompressed: read(0), compressed: read(8) };
  if (uncompressed === ZIP64_SENTINEL) uncompressed = read(0);
  else compressed = read(0);
  return { compressed, uncompressed };
}

function localName(local: LocalHeader): string {
  const raw = local.fileName.subarray(0, QUOTED_NAME_MAX * 4);
  const name = (yauzl as unknown as { getFileNameLowLevel(f: number, b: Buffer, e: unknown[], s: boolean): string }).getFileNameLowLevel(
    local.generalPurposeBitFlag,
    raw,
    [],
    true,
  );
  return name.length > QUOTED_NAME_MAX ? `${name.slice(0, QUOTED_NAME_MAX)}…` : name;
}
