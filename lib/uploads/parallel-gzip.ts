import { availableParallelism } from "node:os";
import { Transform, type TransformCallback } from "node:stream";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { GZIP_HEADER, gzipTrailer } from "./gzip";

const deflateRaw = promisify(zlib.deflateRaw);

/** Input bytes per independently compressed block. */
export const BLOCK_BYTES = 1024 * 1024;
/** deflate looks back at most this far, so this much of the previous block primes the next one. */
const WINDOW_BYTES = 32 * 1024;

interface Options {
  level: number;
  /** Blocks compressed at once; defaults to the CPUs available. */
  parallelism?: number;
}

/**
 * A single gzip member produced by compressing fixed-size blocks of the
 * input in parallel on the libuv pool, for the one stream that would
 * otherwise bound an upload's wall time to one core.
 *
 * Each block is raw deflate primed with the last 32 KiB of the block
 * before it (so matches may reach across the boundary, as in one long
 * stream) and ends on a sync flush, which leaves the output byte-aligned;
 * the last block finishes the stream. Concatenated in order, that is one
 * valid deflate stream. The bytes depend only on the input, the level and
 * BLOCK_BYTES, never on timing or the number of threads, so digests stay
 * stable.
 */
export function parallelGzip({ level, parallelism = availableParallelism() }: Options): Transform {
  const inFlight: Promise<Buffer>[] = [];
  const limit = Math.max(1, parallelism);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let previousTail: Buffer | null = null;
  let crc = 0;
  let size = 0;

  const compress = (block: Buffer, last: boolean): Promise<Buffer> => {
    const options: zlib.ZlibOptions = { level, memLevel: 8, windowBits: 15, finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH };
    if (previousTail) options.dictionary = previousTail;
    previousTail = Buffer.from(block.subarray(Math.max(0, block.length - WINDOW_BYTES)));
    const job = deflateRaw(block, options);
    // Observed at once so a failure is not reported as unhandled before its turn comes; it is still rethrown in order.
    job.catch(() => undefined);
    return job;
  };

  const takeBlock = (bytes: number): Buffer => {
    const all = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    const block = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    return block;
  };

  return new Transform({
    // Back-pressure is applied by awaiting the oldest block whenever the
    // pool is full, so at most `limit` blocks and their output are held.
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      crc = zlib.crc32(chunk, crc);
      size += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      void (async () => {
        while (pendingBytes > BLOCK_BYTES) {
          inFlight.push(compress(takeBlock(BLOCK_BYTES), false));
          if (inFlight.length >= limit) this.push(await (inFlight.shift() as Promise<Buffer>));
        }
      })().then(() => cb(), cb);
    },
    flush(cb: TransformCallback) {
      void (async () => {
        // The last block may be empty; it still carries the final marker.
        inFlight.push(compress(takeBlock(pendingBytes), true));
        while (inFlight.length > 0) this.push(await (inFlight.shift() as Promise<Buffer>));
        this.push(gzipTrailer(crc, size));
      })().then(() => cb(), cb);
    },
    construct(cb: (err?: Error | null) => void) {
      this.push(GZIP_HEADER);
      cb();
    },
  });
}
