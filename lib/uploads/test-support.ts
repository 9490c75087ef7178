/**
 * Corpus builders for the upload tests: real zips written by yazl, plus
 * byte-level edits for the hostile cases no honest zip tool produces.
 * Header offsets follow APPNOTE 4.3.7 (local) and 4.3.12 (central).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import yazl from "yazl";

export const run = promisify(execFile);

export interface ZipSpecEntry {
  name: string;
  data?: Buffer | string;
  /** An explicit folder entry. */
  dir?: boolean;
  compress?: boolean;
  mtime?: Date;
  mode?: number;
}

export async function buildZip(entries: readonly ZipSpecEntry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) {
    const mtime = e.mtime ?? new Date("2024-05-01T12:00:00Z");
    if (e.dir) {
      zip.addEmptyDirectory(e.name, { mtime, ...(e.mode === undefined ? {} : { mode: e.mode }) });
    } else {
      const data = typeof e.data === "string" ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
      zip.addBuffer(data, e.name, { mtime, compress: e.compress ?? true, ...(e.mode === undefined ? {} : { mode: e.mode }) });
    }
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

function findHeader(buf: Buffer, sig: number, nameOffset: number, name: string): number {
  const wanted = Buffer.from(name);
  const lenOffset = sig === CENTRAL_SIG ? 28 : 26;
  for (let i = 0; i + nameOffset <= buf.length; i++) {
    if (buf.readUInt32LE(i) !== sig) continue;
    if (buf.readUInt16LE(i + lenOffset) !== wanted.length) continue;
    if (buf.subarray(i + nameOffset, i + nameOffset + wanted.length).equals(wanted)) return i;
  }
  throw new Error(`no ${sig === CENTRAL_SIG ? "central" : "local"} header for ${name}`);
}

export interface EntryPatch {
  /** Same UTF-8 byte length as the original name (we never move bytes). */
  rename?: string | Buffer;
  flags?: (flags: number) => number;
  method?: number;
  crc32?: number;
  uncompressedSize?: number;
  compressedSize?: number;
  /** High 16 bits of the external attributes: st_mode. */
  unixMode?: number;
  /** Make the central record point at another entry's local header. */
  localHeaderOf?: string;
  /**
   * Write crc32/sizes/method/flags into the central record only, so that it
   * contradicts the local header. By default both say the same lie.
   */
  centralOnly?: boolean;
}

/** Edits one entry in place, in its central record and (where the field exists) its local header. */
export function patchEntry(zip: Buffer, name: string, patch: EntryPatch): Buffer {
  const buf = Buffer.from(zip);
  const c = findHeader(buf, CENTRAL_SIG, 46, name);
  const l = findHeader(buf, LOCAL_SIG, 30, name);
  if (patch.rename !== undefined) {
    const to = Buffer.isBuffer(patch.rename) ? patch.rename : Buffer.from(patch.rename);
    if (to.length !== Buffer.byteLength(name)) throw new Error(`rename must keep the byte length of ${name}`);
    to.copy(buf, c + 46);
    to.copy(buf, l + 30);
  }
  const local = !patch.centralOnly;
  if (patch.flags) {
    buf.writeUInt16LE(patch.flags(buf.readUInt16LE(c + 8)), c + 8);
    if (local) buf.writeUInt16LE(patch.flags(buf.readUInt16LE(l + 6)), l + 6);
  }
  if (patch.method !== undefined) {
    buf.writeUInt16LE(patch.method, c + 10);
    if (local) buf.writeUInt16LE(patch.method, l + 8);
  }
  // The local header's crc and sizes sit 2 bytes before the central record's (APPNOTE 4.3.7 / 4.3.12).
  if (patch.crc32 !== undefined) {
    buf.writeUInt32LE(patch.crc32 >>> 0, c + 16);
    if (local) buf.writeUInt32LE(patch.crc32 >>> 0, l + 14);
  }
  if (patch.compressedSize !== undefined) {
    buf.writeUInt32LE(patch.compressedSize, c + 20);
    if (local) buf.writeUInt32LE(patch.compressedSize, l + 18);
  }
  if (patch.uncompressedSize !== undefined) {
    buf.writeUInt32LE(patch.uncompressedSize, c + 24);
    if (local) buf.writeUInt32LE(patch.uncompressedSize, l + 22);
  }
  if (patch.unixMode !== undefined) {
    buf.writeUInt32LE(((patch.unixMode << 16) | (buf.readUInt32LE(c + 38) & 0xffff)) >>> 0, c + 38);
    // "made by" Unix, so every reader takes the mode seriously.
    buf.writeUInt8(3, c + 5);
  }
  if (patch.localHeaderOf !== undefined) {
    const other = findHeader(buf, CENTRAL_SIG, 46, patch.localHeaderOf);
    buf.writeUInt32LE(buf.readUInt32LE(other + 42), c + 42);
  }
  return buf;
}

/** Offset of an entry's file data, for flipping content bytes. */
export function dataOffset(zip: Buffer, name: string): number {
  const l = findHeader(zip, LOCAL_SIG, 30, name);
  return l + 30 + zip.readUInt16LE(l + 26) + zip.readUInt16LE(l + 28);
}

export async function makeTmp(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `pagoda-test-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Every file under dir, relative, "/"-separated, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .sort();
}

export async function writeZip(dir: string, name: string, zip: Buffer): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, zip);
  return file;
}

/** Deterministic pseudo-random bytes (incompressible, reproducible across runs). */
export function noise(bytes: number, seed: number): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export async function extractWith(tool: "tar" | "busybox", archive: string, into: string): Promise<void> {
  if (tool === "tar") await run("tar", ["-xzf", archive, "-C", into]);
  else await run("busybox", ["tar", "-xzf", archive, "-C", into]);
}

export async function readText(file: string): Promise<string> {
  return readFile(file, "utf8");
}

export interface CraftedLocal {
  /** Name in the local header when it differs from the central one. */
  name?: string | Buffer;
  extra?: Buffer;
  flags?: number;
  method?: number;
  crc32?: number;
  compressedSize?: number;
  uncompressedSize?: number;
  /** Sizes as 0xFFFFFFFF with both real ones in a local ZIP64 extra field (what streaming writers do). */
  zip64?: boolean;
}

export interface CraftedEntry {
  /** The name in the central directory. */
  name: string | Buffer;
  data: Buffer | string;
  /** Deflate the data (method 8); stored otherwise. */
  compress?: boolean;
  flags?: number;
  local?: CraftedLocal;
  /**
   * The next entry's whole local record (header, name and data) is written
   * inside this entry's local extra field, and the central directory points
   * into it: a reader that walks local headers never sees the next entry.
   */
  hideNextInExtra?: boolean;
  /**
   * This entry's local extra field is the next entry's local header, and
   * both entries' data is the next entry's data: two files, one blob.
   */
  shareNextData?: boolean;
}

/**
 * A zip written byte by byte, for the structures no zip tool writes: local
 * headers that disagree with the central directory, and entries nested in
 * or sharing each other's bytes.
 */
export function craftZip(entries: readonly CraftedEntry[]): Buffer {
  const asBuf = (v: string | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(v));
  const payload = (e: CraftedEntry) => {
    const plain = asBuf(e.data);
    return { plain, stored: e.compress ? zlib.deflateRawSync(plain) : plain, method: e.compress ? 8 : 0 };
  };
  const localHeader = (e: CraftedEntry, extra: Buffer, sizes: { crc: number; compressed: number; uncompressed: number; method: number }) => {
    const l = e.local ?? {};
    const name = asBuf(l.name ?? e.name);
    let ext = l.extra ?? extra;
    let compressed = l.compressedSize ?? sizes.compressed;
    let uncompressed = l.uncompressedSize ?? sizes.uncompressed;
    if (l.zip64) {
      const z = Buffer.alloc(20);
      z.writeUInt16LE(0x0001, 0);
      z.writeUInt16LE(16, 2);
      z.writeBigUInt64LE(BigInt(uncompressed), 4);
      z.writeBigUInt64LE(BigInt(compressed), 12);
      ext = Buffer.concat([z, ext]);
      compressed = 0xffffffff;
      uncompressed = 0xffffffff;
    }
    const h = Buffer.alloc(30);
    h.writeUInt32LE(LOCAL_SIG, 0);
    h.writeUInt16LE(l.zip64 ? 45 : 20, 4);
    h.writeUInt16LE(l.flags ?? e.flags ?? 0, 6);
    h.writeUInt16LE(l.method ?? sizes.method, 8);
    h.writeUInt16LE(0x6000, 10);
    h.writeUInt16LE(0x58a1, 12);
    h.writeUInt32LE((l.crc32 ?? sizes.crc) >>> 0, 14);
    h.writeUInt32LE(compressed, 18);
    h.writeUInt32LE(uncompressed, 22);
    h.writeUInt16LE(name.length, 26);
    h.writeUInt16LE(ext.length, 28);
    return Buffer.concat([h, name, ext]);
  };
  const sizesOf = (e: CraftedEntry) => {
    const p = payload(e);
    return { crc: zlib.crc32(p.plain), compressed: p.stored.length, uncompressed: p.plain.length, method: p.method, stored: p.stored };
  };

  const parts: Buffer[] = [];
  const central: { entry: CraftedEntry; offset: number; sizes: ReturnType<typeof sizesOf> }[] = [];
  let at = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    at += b.length;
  };
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const sizes = sizesOf(e);
    const next = entries[i + 1];
    if ((e.hideNextInExtra || e.shareNextData) && next) {
      const nextSizes = sizesOf(next);
      const nextHeader = localHeader(next, Buffer.alloc(0), nextSizes);
      const nameLength = asBuf(e.local?.name ?? e.name).length;
      if (e.hideNextInExtra) {
        const record = Buffer.concat([nextHeader, nextSizes.stored]);
        const field = Buffer.alloc(4);
        field.writeUInt16LE(0xcafe, 0);
        field.writeUInt16LE(record.length, 2);
        central.push({ entry: e, offset: at, sizes }, { entry: next, offset: at + 30 + nameLength + 4, sizes: nextSizes });
        push(Buffer.concat([localHeader(e, Buffer.concat([field, record]), sizes), sizes.stored]));
      } else {
        central.push({ entry: e, offset: at, sizes: nextSizes }, { entry: next, offset: at + 30 + nameLength, sizes: nextSizes });
        push(Buffer.concat([localHeader(e, nextHeader, nextSizes), nextSizes.stored]));
      }
      i += 1;
      continue;
    }
    central.push({ entry: e, offset: at, sizes });
    push(Buffer.concat([localHeader(e, Buffer.alloc(0), sizes), sizes.stored]));
  }
  const cdStart = at;
  for (const { entry, offset, sizes } of central) {
    const name = asBuf(entry.name);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(CENTRAL_SIG, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(entry.flags ?? 0, 8);
    c.writeUInt16LE(sizes.method, 10);
    c.writeUInt16LE(0x6000, 12);
    c.writeUInt16LE(0x58a1, 14);
    c.writeUInt32LE(sizes.crc >>> 0, 16);
    c.writeUInt32LE(sizes.compressed, 20);
    c.writeUInt32LE(sizes.uncompressed, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    push(Buffer.concat([c, name]));
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(central.length, 8);
  eocd.writeUInt16LE(central.length, 10);
  eocd.writeUInt32LE(at - cdStart, 12);
  eocd.writeUInt32LE(cdStart, 16);
  push(eocd);
  return Buffer.concat(parts);
}
