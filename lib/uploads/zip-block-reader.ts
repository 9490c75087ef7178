import { createReadStream } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import yauzl from "yauzl";

/** Sequential reads (the central directory) are served from blocks of this size. */
const BLOCK_BYTES = 256 * 1024;

/**
 * The zip as yauzl sees it, through yauzl's documented RandomAccessReader
 * extension point. yauzl's own file reader issues two small reads per
 * central-directory record and one per local header; with ten thousand
 * files those thread-pool round trips cost more than the inflating. This
 * reader serves them, and the local headers read in offset order
 * afterwards, from a block cache, and leaves every byte of zip
 * interpretation to yauzl.
 */
export class ZipBlockReader extends (yauzl.RandomAccessReader as unknown as new () => yauzl.RandomAccessReader) {
  private block: { start: number; data: Buffer } | null = null;

  constructor(
    private readonly handle: FileHandle,
    private readonly filePath: string,
  ) {
    super();
  }

  /** Large entries are streamed from a descriptor of their own. */
  override _readStreamForRange(start: number, end: number): Readable {
    return createReadStream(this.filePath, { start, end: end - 1 }) as unknown as Readable;
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null, bytesRead?: number) => void): void {
    const hit = this.cached(position, length);
    if (hit) {
      hit.copy(buffer, offset);
      process.nextTick(callback, null, length);
      return;
    }
    const size = Math.max(length, BLOCK_BYTES);
    this.readAt(position, size).then(
      (data) => {
        this.block = { start: position, data };
        const n = Math.min(length, data.length);
        data.copy(buffer, offset, 0, n);
        callback(null, n);
      },
      (err: Error) => callback(err),
    );
  }

  override close(callback: (err: Error | null) => void): void {
    this.handle.close().then(
      () => callback(null),
      (err: Error) => callback(err),
    );
  }

  /** Bytes [start, start+length): from the block cache when possible (no copy), else read. */
  async bytes(start: number, length: number): Promise<Buffer> {
    const hit = this.cached(start, length);
    if (hit) return hit;
    const data = await this.readAt(start, length);
    if (data.length < length) throw new Error("unexpected EOF");
    return data;
  }

  private cached(start: number, length: number): Buffer | null {
    const block = this.block;
    if (block && start >= block.start && start + length <= block.start + block.data.length) {
      return block.data.subarray(start - block.start, start - block.start + length);
    }
    return null;
  }

  private async readAt(start: number, length: number): Promise<Buffer> {
    const data = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(data, filled, length - filled, start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return data.subarray(0, filled);
  }
}
