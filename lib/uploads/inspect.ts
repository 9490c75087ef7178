import { setImmediate } from "node:timers/promises";
import { UploadError, zipLibraryError } from "./errors";
import { formatBytes, quoteName } from "./format";
import { isJunk } from "./junk";
import { ENTRY_COUNT_FACTOR, RATIO_GRACE_BYTES, type UploadLimits } from "./limits";
import { assertNameEncoding, collisionKey, parseEntryPath, utf8Length } from "./names";
import { assertPlainFileType, S_IFDIR, S_IFMT } from "./refusals";
import { entryName, locationOf, readNextEntry, type EntryLocation, type ZipEntry, type ZipFile } from "./zip-archive";
import { checkLocalHeaders, nameDigest, type CentralRecord } from "./zip-local";

/** A file that will be published, with where to find its bytes in the zip. */
export interface PlannedFile {
  /** Final path in the site, NFC, "/"-separated, no leading folder stripped away later. */
  path: string;
  /** The name as written in the zip, for messages. */
  source: string;
  location: EntryLocation;
}

export interface InspectResult {
  files: PlannedFile[];
  /** The single top-level folder that was removed ("dist"), if any. */
  strippedPrefix: string | null;
  declaredBytes: number;
  junkDropped: number;
}

const YIELD_EVERY_ENTRIES = 256;
const DOS_DIRECTORY = 0x10;
const METHOD_NAMES: Record<number, string> = { 1: "Shrink", 6: "Implode", 9: "Deflate64", 12: "BZIP2", 14: "LZMA", 93: "Zstandard", 95: "XZ", 98: "PPMd" };

interface Candidate {
  segments: string[];
  source: string;
  location: EntryLocation;
}

/**
 * First pass: reads only the central directory (no file data), refusing
 * anything unsafe or over a limit as early as the metadata allows. The
 * sizes checked here are the zip's claims; normalize.ts holds every entry
 * to them while inflating, so a lie is caught there.
 */
export async function inspectZip(zip: ZipFile, limits: UploadLimits, archiveBytes: number): Promise<InspectResult> {
  const maxEntries = limits.maxFiles * ENTRY_COUNT_FACTOR;
  if (zip.entryCount > maxEntries) {
    throw new UploadError(
      "too_many_files",
      `The zip lists ${zip.entryCount.toLocaleString("en-US")} entries; at most ${limits.maxFiles.toLocaleString("en-US")} files can be published.`,
    );
  }

  const candidates: Candidate[] = [];
  const folders = new Map<string, string>();
  const records: CentralRecord[] = [];
  let junkDropped = 0;
  let entriesRead = 0;

  for (;;) {
    let entry: ZipEntry | null;
    try {
      entry = await readNextEntry(zip);
    } catch (err) {
      throw directoryError(err, entriesRead);
    }
    if (entry === null) break;
    entriesRead += 1;
    // Records come from a block cache, so without this the loop would never
    // wait on I/O and the server would answer nothing else until the whole
    // directory was read (a few hundred ms for ten thousand entries).
    if (entriesRead % YIELD_EVERY_ENTRIES === 0) await setImmediate();

    const source = entryName(entry);
    assertNameEncoding(entry.generalPurposeBitFlag, entry.fileNameRaw, source);
    if (entry.fileNameRaw.length > limits.maxPathLength + STRIP_ALLOWANCE_BYTES) {
      throw nameTooLong(source, limits);
    }
    const parsed = parseEntryPath(source);
    if (parsed.segments.length > limits.maxPathDepth + STRIP_ALLOWANCE_DEPTH) throw tooDeep(source, limits);

    const kind = entryKind(entry, source, parsed.endsWithSlash);
    if ((entry.generalPurposeBitFlag & 0x1) !== 0) {
      throw new UploadError("encrypted", `The file ${quoteName(source)} is password-protected. Zip the site again without a password.`, { entry: source });
    }
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
      const method = METHOD_NAMES[entry.compressionMethod] ?? `method ${entry.compressionMethod}`;
      throw new UploadError(
        "unsupported_compression",
        `The file ${quoteName(source)} is compressed with ${method}, which is not supported. Re-create the zip with the standard "Deflate" (or "Store") method.`,
        { entry: source },
      );
    }
    // Every entry, folders and junk included: each is checked against its local header.
    const location = locationOf(entry);
    records.push({ location, source, nameDigest: nameDigest(entry.fileNameRaw) });

    if (kind === "folder") {
      if (entry.uncompressedSize !== 0) {
        throw new UploadError(
          "corrupt",
          `The folder entry ${quoteName(source)} claims to contain ${entry.uncompressedSize} bytes of data. The zip is damaged or was crafted.`,
          { entry: source },
        );
      }
      if (!isJunk(parsed.segments, true) && parsed.segments.length > 0) folders.set(collisionKey(parsed.segments.join("/")), source);
      continue;
    }
    if (isJunk(parsed.segments, false)) {
      junkDropped += 1;
      continue;
    }
    if (parsed.segments.length === 0) {
      throw new UploadError("bad_name", `The entry ${quoteName(source)} has no file name.`, { entry: source });
    }
    if (candidates.length >= limits.maxFiles) {
      throw new UploadError("too_many_files", `The zip contains more than ${limits.maxFiles.toLocaleString("en-US")} files, the most a site can have.`, {
        entry: source,
      });
    }
    candidates.push({ segments: parsed.segments, source, location });
  }

  // Each pass over ten thousand entries takes tens of milliseconds; other
  // requests get the event loop between them (checkLocalHeaders yields too).
  await checkLocalHeaders(zip, records);
  await setImmediate();
  assertUnique(candidates, folders);
  await setImmediate();

  if (candidates.length === 0) {
    throw new UploadError(
      "empty_archive",
      junkDropped > 0
        ? "The zip contains only system files (like .DS_Store or __MACOSX), no site."
        : "The zip is empty: it contains no files. Zip the folder that holds your index.html.",
    );
  }

  const stripped: string[] = [];
  while (candidates.every((c) => c.segments.length > 1 && c.segments[0] === candidates[0]?.segments[0])) {
    const top = candidates[0]?.segments[0] ?? "";
    stripped.push(top);
    for (const c of candidates) c.segments = c.segments.slice(1);
  }

  let declaredBytes = 0;
  const files: PlannedFile[] = [];
  for (const c of candidates) {
    const path = c.segments.join("/");
    if (utf8Length(path) > limits.maxPathLength || c.segments.some((s) => utf8Length(s) > 255)) throw nameTooLong(c.source, limits);
    if (c.segments.length > limits.maxPathDepth) throw tooDeep(c.source, limits);
    const size = c.location.uncompressedSize;
    if (limits.maxFileBytes !== undefined && size > limits.maxFileBytes) throw fileTooLarge(c.source, limits.maxFileBytes);
    declaredBytes += size;
    if (declaredBytes > limits.maxUncompressedBytes) throw totalTooLarge(limits.maxUncompressedBytes, c.source);
    assertEntryRatio(c.source, size, c.location.compressedSize, limits);
    files.push({ path, source: c.source, location: c.location });
  }
  assertArchiveRatio(declaredBytes, archiveBytes, limits);
  assertIndexHtml(files, stripped);

  return { files, strippedPrefix: stripped.length > 0 ? stripped.join("/") : null, declaredBytes, junkDropped };
}

/**
 * Room for a top-level folder that will be stripped, when bounding names
 * before we know whether stripping happens. The exact limit is applied to
 * the final path.
 */
const STRIP_ALLOWANCE_BYTES = 256;
const STRIP_ALLOWANCE_DEPTH = 8;

function entryKind(entry: ZipEntry, source: string, endsWithSlash: boolean): "file" | "folder" {
  const mode = entry.externalFileAttributes >>> 16;
  const type = mode & S_IFMT;
  // Unix-made zips carry st_mode in the high 16 bits; many Windows tools
  // leave them zero. A non-zero type is trusted whatever the "made by"
  // host says, so a symlink cannot hide behind a DOS host byte.
  assertPlainFileType(type, source);
  if (endsWithSlash || type === S_IFDIR) return "folder";
  if ((entry.externalFileAttributes & DOS_DIRECTORY) !== 0 && entry.uncompressedSize === 0 && type === 0) return "folder";
  return "file";
}

function assertUnique(candidates: readonly Candidate[], folders: Map<string, string>): void {
  const seen = new Map<string, Candidate>();
  for (const c of candidates) {
    const path = c.segments.join("/");
    const key = collisionKey(path);
    const first = seen.get(key);
    if (first) {
      const why =
        first.source === c.source
          ? "appears twice in the zip"
          : first.source.normalize("NFC") === c.source.normalize("NFC")
            ? `is the same name as ${quoteName(first.source)} written with different Unicode characters`
            : `differs only in upper/lower case from ${quoteName(first.source)}`;
      throw new UploadError("duplicate_path", `The file ${quoteName(c.source)} ${why}. Every file must have a distinct name, ignoring case.`, {
        entry: c.source,
      });
    }
    seen.set(key, c);
    for (let depth = 1; depth < c.segments.length; depth++) {
      const prefix = collisionKey(c.segments.slice(0, depth).join("/"));
      if (!folders.has(prefix)) folders.set(prefix, c.source);
    }
  }
  for (const c of candidates) {
    const key = collisionKey(c.segments.join("/"));
    const other = folders.get(key);
    if (other !== undefined) {
      throw new UploadError("file_folder_conflict", `${quoteName(c.source)} is a file, but ${quoteName(other)} uses the same name as a folder.`, {
        entry: c.source,
      });
    }
  }
}

function assertEntryRatio(source: string, size: number, compressed: number, limits: UploadLimits): void {
  if (size <= RATIO_GRACE_BYTES) return;
  if (size > limits.maxCompressionRatio * Math.max(compressed, 1)) {
    throw new UploadError(
      "ratio_too_high",
      `The file ${quoteName(source)} expands from ${formatBytes(compressed)} to ${formatBytes(size)} (more than ${limits.maxCompressionRatio}×). That is typical of a zip bomb, so the upload was refused.`,
      { entry: source },
    );
  }
}

function assertArchiveRatio(total: number, archiveBytes: number, limits: UploadLimits): void {
  if (total <= RATIO_GRACE_BYTES) return;
  if (total > limits.maxCompressionRatio * Math.max(archiveBytes, 1)) {
    throw new UploadError(
      "ratio_too_high",
      `The zip expands from ${formatBytes(archiveBytes)} to ${formatBytes(total)} (more than ${limits.maxCompressionRatio}×). That is typical of a zip bomb, so the upload was refused.`,
    );
  }
}

function assertIndexHtml(files: readonly PlannedFile[], stripped: readonly string[]): void {
  if (files.some((f) => f.path === "index.html")) return;
  const prefix = stripped.length > 0 ? `${stripped.join("/")}/` : "";
  const caseVariant = files.find((f) => f.path.toLowerCase() === "index.html");
  if (caseVariant) {
    throw new UploadError(
      "no_index_html",
      `The site has ${quoteName(prefix + caseVariant.path)} but no "index.html": names are case-sensitive on the web. Rename it to index.html.`,
      { entry: caseVariant.source },
    );
  }
  const nested = files
    .filter((f) => f.path.endsWith("/index.html"))
    .sort((a, b) => a.path.split("/").length - b.path.split("/").length || (a.path < b.path ? -1 : 1))[0];
  if (nested) {
    const folder = nested.path.slice(0, -"/index.html".length);
    throw new UploadError(
      "no_index_html",
      `There is no index.html at the top of the zip. One was found at ${quoteName(nested.source)}: zip the contents of the ${quoteName(prefix + folder)} folder instead, or move index.html to the top level.`,
      { entry: nested.source },
    );
  }
  const innerZip = files.length === 1 && files[0]?.path.toLowerCase().endsWith(".zip") ? files[0] : undefined;
  if (innerZip) {
    throw new UploadError(
      "no_index_html",
      `The zip only contains another zip, ${quoteName(innerZip.source)}. Upload that zip instead (zips are not unpacked twice).`,
      { entry: innerZip.source },
    );
  }
  throw new UploadError("no_index_html", "There is no index.html at the top of the zip. A site needs an index.html as its home page.");
}

function nameTooLong(source: string, limits: UploadLimits): UploadError {
  return new UploadError(
    "name_too_long",
    `The path ${quoteName(source)} is too long: at most ${limits.maxPathLength} bytes per path (and 255 per name) are allowed.`,
    { entry: source },
  );
}

function tooDeep(source: string, limits: UploadLimits): UploadError {
  return new UploadError("path_too_deep", `The path ${quoteName(source)} is nested too deeply: at most ${limits.maxPathDepth} levels of folders are allowed.`, {
    entry: source,
  });
}

export function fileTooLarge(source: string, max: number): UploadError {
  return new UploadError("file_too_large", `The file ${quoteName(source)} is larger than the ${formatBytes(max)} allowed for one file.`, { entry: source });
}

export function totalTooLarge(max: number, source?: string): UploadError {
  return new UploadError(
    "uncompressed_too_large",
    `Unzipped, the site is larger than the ${formatBytes(max)} limit${source === undefined ? "" : ` (reached at ${quoteName(source)})`}.`,
    source === undefined ? {} : { entry: source },
  );
}

function directoryError(err: unknown, entriesRead: number): Error {
  return zipLibraryError(err, { stage: "directory", entriesRead });
}
