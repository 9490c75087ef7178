import { setImmediate } from "node:timers/promises";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { PassThrough, Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import zlib from "node:zlib";
import tar from "tar-stream";
import type { Digest } from "@/lib/artifacts/digest";
import { UploadError, isUploadError, zipLibraryError } from "./errors";
import { formatBytes, quoteName } from "./format";
import { INLINE_ZLIB_BYTES, deterministicGzip, gzipBuffer } from "./gzip";
import { parallelGzip } from "./parallel-gzip";
import { fileTooLarge, totalTooLarge, type InspectResult, type PlannedFile } from "./inspect";
import { RATIO_GRACE_BYTES, type UploadLimits } from "./limits";
// Shared with the site pod's volume sizes (lib/staticsite/site-size.ts).
import { SIBLING_MAX_FRACTION } from "@/lib/staticsite/site-size";
import { collisionKey, utf8Length } from "./names";
import { openEntryStream, type ZipFile } from "./zip-archive";
import { readCompressed } from "./zip-entry-bytes";
import type { ZipBlockReader } from "./zip-block-reader";

/** gzip level of the artifact itself: zlib's default, the same as `tar czf`. */
export const ARCHIVE_GZIP_LEVEL = 6;
/** Precompressed siblings are made once and served many times: worth the extra effort. */
export const SIBLING_GZIP_LEVEL = 9;
/** Below this, the gzip framing and a request's overhead eat the gain. */
export const SIBLING_MIN_BYTES = 1024;
const COMPRESSIBLE = new Set([
  "html",
  "htm",
  "xhtml",
  "css",
  "js",
  "mjs",
  "cjs",
  "json",
  "jsonld",
  "webmanifest",
  "map",
  "svg",
  "xml",
  "rss",
  "atom",
  "txt",
  "md",
  "csv",
  "tsv",
  "wasm",
  "ico",
  "ttf",
  "otf",
  "eot",
]);

/**
 * Files up to this size (both compressed and inflated) are read and
 * inflated whole, a few at a time ahead of the tar writer; bigger ones are
 * streamed. Memory held by read-ahead is bounded by SMALL × READ_AHEAD.
 */
const SMALL_FILE_BYTES = 512 * 1024;
const READ_AHEAD = 8;
/** Finished siblings waiting for their place in sorted order stay in memory up to this much, then go to disk. */
const PENDING_SIBLING_MEMORY = 8 * 1024 * 1024;

const EPOCH = new Date(0);
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

const inflateRaw = promisify(zlib.inflateRaw);

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

type PendingSibling = { size: number } & ({ data: Buffer } | { path: string });

interface Context {
  zip: ZipFile;
  reader: ZipBlockReader;
  pack: tar.Pack;
  limits: UploadLimits;
  scratchDir: string;
  totals: { bytes: number };
}

/**
 * Second pass: inflates each planned file straight into a tar.gz on disk,
 * in bytewise path order with fixed metadata, hashing the compressed bytes
 * as they are written. Memory stays bounded (read-ahead of small files,
 * stream buffers for big ones) whatever the size of the site or of any
 * single file.
 */
export async function writeNormalizedArchive(
  zip: ZipFile,
  reader: ZipBlockReader,
  plan: InspectResult,
  limits: UploadLimits,
  outPath: string,
  scratchDir: string,
): Promise<NormalizeResult> {
  const items = await planItems(plan.files);
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
  const written = pipeline(
    pack as unknown as AsyncIterable<Buffer>,
    parallelGzip({ level: ARCHIVE_GZIP_LEVEL }),
    hasher,
    createWriteStream(outPath, { flags: "wx", mode: 0o600 }),
  );
  // Observed now so that a failure while we are between awaits is not
  // reported as unhandled; it is still rethrown by the await below.
  written.catch(() => undefined);

  const ctx: Context = { zip, reader, pack, limits, scratchDir, totals: { bytes: 0 } };
  const prepared = new Map<number, Promise<Prepared>>();
  const siblings = new Map<string, PendingSibling>();
  let pendingMemory = 0;
  let fileCount = 0;
  let precompressedCount = 0;

  const readAhead = (from: number) => {
    for (let j = from; j < items.length && j < from + READ_AHEAD; j++) {
      const item = items[j];
      if (item?.kind !== "file" || !isSmall(item.file) || prepared.has(j)) continue;
      const p = prepareSmall(ctx, item.file, item.sibling !== null);
      p.catch(() => undefined);
      prepared.set(j, p);
    }
  };

  try {
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (!item) continue;
      if (item.kind === "dir") {
        await addEntry(pack, { name: item.name, type: "directory", mode: DIR_MODE, size: 0 });
      } else if (item.kind === "file") {
        readAhead(i);
        let sibling: PendingSibling | null;
        const pending = prepared.get(i);
        if (pending) {
          prepared.delete(i);
          const { data, gz } = await pending;
          countBytes(ctx, item.file, data.length, data.length);
          await addEntry(pack, { name: item.name, type: "file", mode: FILE_MODE, size: data.length }, data);
          sibling = gz ? { data: gz, size: gz.length } : null;
        } else {
          sibling = await streamLargeFile(ctx, item.file, item.sibling !== null, fileCount);
        }
        fileCount += 1;
        if (sibling && item.sibling) {
          if ("data" in sibling && pendingMemory + sibling.size > PENDING_SIBLING_MEMORY) {
            const spill = path.join(scratchDir, `sibling-${i}.gz`);
            await writeFile(spill, sibling.data, { flag: "wx", mode: 0o600 });
            sibling = { path: spill, size: sibling.size };
          }
          if ("data" in sibling) pendingMemory += sibling.size;
          siblings.set(item.sibling, sibling);
        }
      } else {
        const gz = siblings.get(item.name);
        if (!gz) continue;
        siblings.delete(item.name);
        const header = { name: item.name, type: "file", mode: FILE_MODE, size: gz.size } as const;
        if ("data" in gz) {
          pendingMemory -= gz.size;
          await addEntry(pack, header, gz.data);
        } else {
          await addEntry(pack, header, createReadStream(gz.path));
          await rm(gz.path);
        }
        precompressedCount += 1;
      }
    }
    pack.finalize();
    await written;
  } catch (err) {
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
    await written.catch(() => undefined);
    // Read-ahead work may still be running; let it settle before the
    // caller removes the scratch directory and closes the zip.
    await Promise.allSettled(prepared.values());
    throw err;
  }
  return { digest: `sha256:${hash.digest("hex")}`, sizeBytes, fileCount, precompressedCount, uncompressedBytes: ctx.totals.bytes };
}

/** Files between two yields to the event loop while planning (a few milliseconds of work). */
const PLAN_YIELD_EVERY = 1_000;

async function planItems(files: readonly PlannedFile[]): Promise<Item[]> {
  const dirs = new Set<string>();
  for (const [i, file] of files.entries()) {
    if (i % PLAN_YIELD_EVERY === PLAN_YIELD_EVERY - 1) await setImmediate();
    const segments = file.path.split("/");
    for (let depth = 1; depth < segments.length; depth++) dirs.add(segments.slice(0, depth).join("/") + "/");
  }
  // Names a sibling must not take: the person's files and folders, ignoring case.
  const taken = new Set([...files.map((f) => collisionKey(f.path)), ...[...dirs].map((d) => collisionKey(d.slice(0, -1)))]);
  await setImmediate();
  const items: Item[] = [];
  for (const [i, file] of files.entries()) {
    if (i % PLAN_YIELD_EVERY === PLAN_YIELD_EVERY - 1) await setImmediate();
    const segments = file.path.split("/");
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
  await setImmediate();
  return items.sort((a, b) => Buffer.compare(a.key, b.key));
}

function extension(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot + 1).toLowerCase();
}

function isSmall(file: PlannedFile): boolean {
  return file.location.compressedSize <= SMALL_FILE_BYTES && file.location.uncompressedSize <= SMALL_FILE_BYTES;
}

type EntryHeader = { name: string; type: "file" | "directory"; mode: number; size: number };

/** One tar entry with the fixed metadata that makes the archive reproducible. */
async function addEntry(pack: tar.Pack, header: EntryHeader, body?: Buffer | Readable): Promise<void> {
  const full = { ...header, mtime: EPOCH, uid: 0, gid: 0, uname: "", gname: "" };
  let sink!: ChunkSink;
  const done = new Promise<void>((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    sink = Buffer.isBuffer(body) ? pack.entry(full, body, cb) : pack.entry(full, cb);
  });
  done.catch(() => undefined);
  // When the archive is abandoned the pack re-emits its error on every open
  // entry; that error is already reported through `done` and the caller.
  sink.on("error", () => undefined);
  if (body && !Buffer.isBuffer(body)) {
    for await (const chunk of body) await writeChunk(sink, chunk as Buffer);
    sink.end();
  }
  await done;
}

interface Prepared {
  data: Buffer;
  gz: Buffer | null;
}

/** Reads, inflates and verifies one small file, and makes its sibling if it earns one. */
async function prepareSmall(ctx: Context, file: PlannedFile, wantsSibling: boolean): Promise<Prepared> {
  const loc = file.location;
  let data: Buffer;
  try {
    const raw = await readCompressed(ctx.zip, ctx.reader, loc);
    // maxOutputLength one past the claim: inflating stops right there.
    // chunkSize fitted to the file: zlib's default 16 KiB output buffer per
    // call is most of the garbage when a site has thousands of small files.
    const options = { maxOutputLength: loc.uncompressedSize + 1, chunkSize: fittedChunk(loc.uncompressedSize + 1) };
    if (loc.compressionMethod === 0) data = raw;
    else if (loc.uncompressedSize < INLINE_ZLIB_BYTES) data = zlib.inflateRawSync(raw, options);
    else data = await inflateRaw(raw, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw sizeMismatch(file, "more");
    throw entryReadError(file, err);
  }
  if (data.length !== loc.uncompressedSize) throw sizeMismatch(file, data.length > loc.uncompressedSize ? "more" : data.length);
  if (zlib.crc32(data) >>> 0 !== loc.crc32 >>> 0) throw crcMismatch(file);
  let gz: Buffer | null = null;
  if (wantsSibling) {
    gz = await gzipBuffer(data, SIBLING_GZIP_LEVEL);
    if (gz.length > data.length * SIBLING_MAX_FRACTION) gz = null;
  }
  return { data, gz };
}

/**
 * Inflates and verifies one small file of the plan on its own, outside the
 * archive (the site rules are read with it before the archive is written).
 */
export async function readSmallFile(zip: ZipFile, reader: ZipBlockReader, file: PlannedFile): Promise<Buffer> {
  if (!isSmall(file)) throw new Error(`${file.source} is too large to be read whole`);
  const ctx = { zip, reader } as Context;
  return (await prepareSmall(ctx, file, false)).data;
}

export function fittedChunk(bytes: number): number {
  return Math.min(64 * 1024, Math.max(zlib.constants.Z_MIN_CHUNK, bytes));
}

/** Limits measured on real output; shared by both paths. */
function countBytes(ctx: Context, file: PlannedFile, chunk: number, soFar: number): void {
  const { limits, totals } = ctx;
  totals.bytes += chunk;
  if (limits.maxFileBytes !== undefined && soFar > limits.maxFileBytes) throw fileTooLarge(file.source, limits.maxFileBytes);
  if (totals.bytes > limits.maxUncompressedBytes) throw totalTooLarge(limits.maxUncompressedBytes, file.source);
  if (soFar > RATIO_GRACE_BYTES && soFar > limits.maxCompressionRatio * Math.max(file.location.compressedSize, 1)) {
    throw new UploadError(
      "ratio_too_high",
      `The file ${quoteName(file.source)} expands more than ${limits.maxCompressionRatio}× when unzipped. That is typical of a zip bomb, so the upload was refused.`,
      { entry: file.source },
    );
  }
}

async function streamLargeFile(ctx: Context, file: PlannedFile, wantsSibling: boolean, index: number): Promise<PendingSibling | null> {
  let source: Readable;
  try {
    source = await openEntryStream(ctx.zip, file.location);
  } catch (err) {
    throw entryReadError(file, err);
  }
  const gzPath = wantsSibling ? path.join(ctx.scratchDir, `large-${index}.gz`) : null;
  const gzInput = gzPath ? new PassThrough() : null;
  const gzWritten =
    gzInput && gzPath ? pipeline(gzInput, ...deterministicGzip(SIBLING_GZIP_LEVEL), createWriteStream(gzPath, { flags: "wx", mode: 0o600 })) : null;
  gzWritten?.catch(() => undefined);

  const header = {
    name: file.path,
    type: "file",
    mode: FILE_MODE,
    size: file.location.uncompressedSize,
    mtime: EPOCH,
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
  } as const;
  let sink!: ChunkSink;
  const entryDone = new Promise<void>((resolve, reject) => {
    sink = ctx.pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  entryDone.catch(() => undefined);
  sink.on("error", () => undefined);

  try {
    await pipeline(source, new EntryCheck(ctx, file), async (checked: AsyncIterable<Buffer>) => {
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

/**
 * A failure while reading or inflating an entry, in our words when the zip
 * is at fault; otherwise (disk, the tar writer) the error itself, a fault
 * of ours.
 */
function entryReadError(file: PlannedFile, err: unknown): Error {
  return zipLibraryError(err, { stage: "entry", entry: file.source });
}

function sizeMismatch(file: PlannedFile, actual: "more" | number): UploadError {
  const declared = formatBytes(file.location.uncompressedSize);
  return actual === "more"
    ? new UploadError(
        "size_mismatch",
        `The file ${quoteName(file.source)} holds more data than the ${declared} the zip declares for it. The zip is damaged or was crafted.`,
        { entry: file.source },
      )
    : new UploadError(
        "size_mismatch",
        `The file ${quoteName(file.source)} holds ${formatBytes(actual)}, less than the ${declared} the zip declares. The zip is damaged.`,
        { entry: file.source },
      );
}

function crcMismatch(file: PlannedFile): UploadError {
  return new UploadError(
    "crc_mismatch",
    `The contents of ${quoteName(file.source)} do not match their checksum: the file was damaged after it was zipped. Please create the zip again.`,
    { entry: file.source },
  );
}

/**
 * Holds a streamed entry to what the zip declared while bytes flow: exact
 * size, CRC-32, and every limit measured on real output. A zip that lies
 * about sizes is stopped at the first byte past the claim, not after
 * inflating whatever it really holds.
 */
class EntryCheck extends Transform {
  private bytes = 0;
  private crc = 0;

  constructor(
    private readonly ctx: Context,
    private readonly file: PlannedFile,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.crc = zlib.crc32(chunk, this.crc);
    if (this.bytes > this.file.location.uncompressedSize) return cb(sizeMismatch(this.file, "more"));
    try {
      countBytes(this.ctx, this.file, chunk.length, this.bytes);
    } catch (err) {
      return cb(err as Error);
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.bytes < this.file.location.uncompressedSize) return cb(sizeMismatch(this.file, this.bytes));
    if (this.crc >>> 0 !== this.file.location.crc32 >>> 0) return cb(crcMismatch(this.file));
    cb();
  }
}
