import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import { PassThrough, Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import tar from "tar-stream";
import type { Digest } from "@/lib/artifacts/digest";
import { UploadError, isUploadError } from "./errors";
import { formatBytes, quoteName } from "./format";
import { deterministicGzip } from "./gzip";
import { fileTooLarge, totalTooLarge, type InspectResult, type PlannedFile } from "./inspect";
import { RATIO_GRACE_BYTES, type UploadLimits } from "./limits";
import { collisionKey, utf8Length } from "./names";
import { openEntryStream, type ZipFile } from "./zip";

/** gzip level of the artifact itself: zlib's default, the same as `tar czf`. */
export const ARCHIVE_GZIP_LEVEL = 6;
/** Precompressed siblings are made once and served many times: worth the extra effort. */
export const SIBLING_GZIP_LEVEL = 9;
/** Below this, the gzip framing and a request's overhead eat the gain. */
export const SIBLING_MIN_BYTES = 1024;
/** A sibling is kept only if it is at most this fraction of the original. */
const SIBLING_MAX_FRACTION = 0.95;
const COMPRESSIBLE = new Set([
  "html", "htm", "xhtml", "css", "js", "mjs", "cjs", "json", "jsonld", "webmanifest", "map", "svg", "xml", "rss", "atom",
  "txt", "md", "csv", "tsv", "wasm", "ico", "ttf", "otf", "eot",
]);

const EPOCH = new Date(0);
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

export interface NormalizeResult {
  digest: Digest;
  sizeBytes: number;
  /** Files from the zip that were published (siblings not counted). */
  fileCount: number;
  /** Precompressed .gz siblings added for gzip_static. */
  precompressedCount: number;
  /** Bytes actually inflated from the zip. */
  uncompressedBytes: number;
}

type Item =
  | { kind: "dir"; name: string; key: Buffer }
  | { kind: "file"; name: string; key: Buffer; file: PlannedFile; sibling: string | null }
  | { kind: "sibling"; name: string; key: Buffer };

/**
 * Second pass: inflates each planned file straight into a tar.gz on disk,
 * in bytewise path order with fixed metadata, hashing the compressed bytes
 * as they are written. Memory stays at a few stream buffers whatever the
 * size of the site or of any single file.
 */
export async function writeNormalizedArchive(
  zip: ZipFile,
  plan: InspectResult,
  limits: UploadLimits,
  outPath: string,
  scratchDir: string,
): Promise<NormalizeResult> {
  const items = planItems(plan.files);
  const pack = tar.pack();
  const hash = createHash("sha256");
  let sizeBytes = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      cb(null, chunk);
    },
  });
  const written = pipeline(Readable.from(pack, { objectMode: false }), ...deterministicGzip(ARCHIVE_GZIP_LEVEL), hasher, createWriteStream(outPath, { flags: "wx", mode: 0o600 }));
  // Observed here so a failure while we are between awaits is not reported
  // as unhandled; it is still rethrown by the await below.
  written.catch(() => undefined);

  const totals = { bytes: 0 };
  const siblings = new Map<string, { path: string; size: number }>();
  let fileCount = 0;
  let precompressedCount = 0;
  try {
    for (const item of items) {
      if (item.kind === "dir") {
        await addEntry(pack, { name: item.name, type: "directory", mode: DIR_MODE, size: 0 });
      } else if (item.kind === "file") {
        const gz = await addZipFile(zip, pack, item.file, item.sibling, totals, limits, scratchDir, fileCount);
        if (gz && item.sibling) siblings.set(item.sibling, gz);
        fileCount += 1;
      } else {
        const gz = siblings.get(item.name);
        if (!gz) continue;
        siblings.delete(item.name);
        await addEntry(pack, { name: item.name, type: "file", mode: FILE_MODE, size: gz.size }, createReadStream(gz.path));
        await rm(gz.path);
        precompressedCount += 1;
      }
    }
    pack.finalize();
    await written;
  } catch (err) {
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
    await written.catch(() => undefined);
    throw err;
  }
  return { digest: `sha256:${hash.digest("hex")}`, sizeBytes, fileCount, precompressedCount, uncompressedBytes: totals.bytes };
}

function planItems(files: readonly PlannedFile[]): Item[] {
  const taken = new Set(files.map((f) => collisionKey(f.path)));
  const dirs = new Set<string>();
  const items: Item[] = [];
  for (const file of files) {
    const segments = file.path.split("/");
    for (let i = 1; i < segments.length; i++) dirs.add(segments.slice(0, i).join("/") + "/");
    const base = segments[segments.length - 1] ?? "";
    const gzName = `${file.path}.gz`;
    const wantsSibling =
      file.location.uncompressedSize >= SIBLING_MIN_BYTES &&
      COMPRESSIBLE.has(extension(base)) &&
      utf8Length(base) + 3 <= 255 &&
      // A .gz the person shipped themselves wins over ours.
      !taken.has(collisionKey(gzName));
    items.push({ kind: "file", name: file.path, key: Buffer.from(file.path), file, sibling: wantsSibling ? gzName : null });
    if (wantsSibling) items.push({ kind: "sibling", name: gzName, key: Buffer.from(gzName) });
  }
  for (const dir of dirs) items.push({ kind: "dir", name: dir, key: Buffer.from(dir) });
  return items.sort((a, b) => Buffer.compare(a.key, b.key));
}

function extension(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot + 1).toLowerCase();
}

type EntryHeader = { name: string; type: "file" | "directory"; mode: number; size: number };

/** One tar entry with the fixed metadata that makes the archive reproducible. */
async function addEntry(pack: tar.Pack, header: EntryHeader, body?: Readable): Promise<void> {
  let sink!: ChunkSink;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry({ ...header, mtime: EPOCH, uid: 0, gid: 0, uname: "", gname: "" }, (err) => (err ? reject(err) : resolve()));
  });
  done.catch(() => undefined);
  if (body) {
    for await (const chunk of body) await writeChunk(sink, chunk as Buffer);
    sink.end();
  }
  await done;
}

async function addZipFile(
  zip: ZipFile,
  pack: tar.Pack,
  file: PlannedFile,
  sibling: string | null,
  totals: { bytes: number },
  limits: UploadLimits,
  scratchDir: string,
  index: number,
): Promise<{ path: string; size: number } | null> {
  let source: Readable;
  try {
    source = await openEntryStream(zip, file.location);
  } catch (err) {
    throw entryReadError(file, err);
  }
  const gzPath = sibling ? path.join(scratchDir, `sibling-${index}.gz`) : null;
  const gzInput = gzPath ? new PassThrough() : null;
  const gzWritten = gzInput && gzPath ? pipeline(gzInput, ...deterministicGzip(SIBLING_GZIP_LEVEL), createWriteStream(gzPath, { flags: "wx", mode: 0o600 })) : null;
  gzWritten?.catch(() => undefined);

  let sink!: ChunkSink;
  const entryDone = new Promise<void>((resolve, reject) => {
    sink = pack.entry(
      { name: file.path, type: "file", mode: FILE_MODE, size: file.location.uncompressedSize, mtime: EPOCH, uid: 0, gid: 0, uname: "", gname: "" },
      (err) => (err ? reject(err) : resolve()),
    );
  });
  entryDone.catch(() => undefined);

  try {
    await pipeline(source, new EntryCheck(file, totals, limits), async (checked: AsyncIterable<Buffer>) => {
      for await (const chunk of checked) {
        await writeChunk(sink, chunk);
        if (gzInput) await writeChunk(gzInput, chunk);
      }
    });
  } catch (err) {
    gzInput?.destroy();
    throw isUploadError(err) ? err : entryReadError(file, err);
  }
  sink.end();
  gzInput?.end();
  await entryDone;
  if (!gzWritten || !gzPath) return null;
  await gzWritten;
  const { size } = await stat(gzPath);
  if (size > file.location.uncompressedSize * SIBLING_MAX_FRACTION) {
    await rm(gzPath);
    return null;
  }
  return { path: gzPath, size };
}

/** The part of a writable stream we use; tar-stream's entries are streamx, not node, streams. */
interface ChunkSink {
  write(chunk: Buffer): boolean;
  end(...args: never[]): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, fn: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: string, fn: (...args: any[]) => void): unknown;
}

function writeChunk(stream: ChunkSink, chunk: Buffer): Promise<void> {
  if (stream.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stream.off("drain", onDrain);
      stream.off("error", onError);
      stream.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (err: Error) => done(err);
    const onClose = () => done(new Error("output closed while writing"));
    stream.on("drain", onDrain);
    stream.on("error", onError);
    stream.on("close", onClose);
  });
}

function entryReadError(file: PlannedFile, err: unknown): UploadError {
  const message = err instanceof Error ? err.message : String(err);
  if (/unexpected end of file|unexpected EOF|overflows file bounds/i.test(message)) {
    return new UploadError("truncated", `The data of ${quoteName(file.source)} is cut short. The zip is incomplete; please create it again.`, { entry: file.source, cause: err });
  }
  return new UploadError("corrupt", `The file ${quoteName(file.source)} cannot be unpacked (${message}). The zip is damaged; please create it again.`, { entry: file.source, cause: err });
}

/**
 * Holds each entry to what the zip declared while bytes flow: exact size,
 * CRC-32, and every limit measured on real output. A zip that lies about
 * sizes is stopped at the first byte past the claim, not after inflating
 * whatever it really holds.
 */
class EntryCheck extends Transform {
  private bytes = 0;
  private crc = 0;

  constructor(
    private readonly file: PlannedFile,
    private readonly totals: { bytes: number },
    private readonly limits: UploadLimits,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const { file, limits } = this;
    this.bytes += chunk.length;
    this.totals.bytes += chunk.length;
    this.crc = zlib.crc32(chunk, this.crc);
    const declared = file.location.uncompressedSize;
    if (this.bytes > declared) {
      return cb(new UploadError("size_mismatch", `The file ${quoteName(file.source)} holds more data than the ${formatBytes(declared)} the zip declares for it. The zip is damaged or was crafted.`, { entry: file.source }));
    }
    if (limits.maxFileBytes !== undefined && this.bytes > limits.maxFileBytes) return cb(fileTooLarge(file.source, limits.maxFileBytes));
    if (this.totals.bytes > limits.maxUncompressedBytes) return cb(totalTooLarge(limits.maxUncompressedBytes, file.source));
    if (this.bytes > RATIO_GRACE_BYTES && this.bytes > limits.maxCompressionRatio * Math.max(file.location.compressedSize, 1)) {
      return cb(new UploadError("ratio_too_high", `The file ${quoteName(file.source)} expands more than ${limits.maxCompressionRatio}× when unzipped. That is typical of a zip bomb, so the upload was refused.`, { entry: file.source }));
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const { file } = this;
    if (this.bytes < file.location.uncompressedSize) {
      return cb(new UploadError("size_mismatch", `The file ${quoteName(file.source)} holds ${formatBytes(this.bytes)}, less than the ${formatBytes(file.location.uncompressedSize)} the zip declares. The zip is damaged.`, { entry: file.source }));
    }
    if ((this.crc >>> 0) !== (file.location.crc32 >>> 0)) {
      return cb(new UploadError("crc_mismatch", `The contents of ${quoteName(file.source)} do not match their checksum: the file was damaged after it was zipped. Please create the zip again.`, { entry: file.source }));
    }
    cb();
  }
}
