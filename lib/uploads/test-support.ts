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
  if (patch.flags) {
    buf.writeUInt16LE(patch.flags(buf.readUInt16LE(c + 8)), c + 8);
    buf.writeUInt16LE(patch.flags(buf.readUInt16LE(l + 6)), l + 6);
  }
  if (patch.method !== undefined) {
    buf.writeUInt16LE(patch.method, c + 10);
    buf.writeUInt16LE(patch.method, l + 8);
  }
  if (patch.crc32 !== undefined) buf.writeUInt32LE(patch.crc32 >>> 0, c + 16);
  if (patch.compressedSize !== undefined) buf.writeUInt32LE(patch.compressedSize, c + 20);
  if (patch.uncompressedSize !== undefined) buf.writeUInt32LE(patch.uncompressedSize, c + 24);
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
