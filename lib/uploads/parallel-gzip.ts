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
  const limit = Math.max(1, parallelism);
  const inFlight: Promise<Buffer>[] = [];
  // Blocks are reused once compressed: at most limit + 1 exist, instead
  // of a fresh megabyte for every megabyte of archive.
  const spare: Buffer[] = [];
  let block: Buffer = Buffer.allocUnsafe(BLOCK_BYTES);
  let filled = 0;
  let previousTail: Buffer | null = null;
  let crc = 0;
  let size = 0;

  const compress = (last: boolean): Promise<Buffer> => {
    const input = block.subarray(0, filled);
    const options: zlib.ZlibOptions = { level, memLevel: 8, windowBits: 15, finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH };
    if (previousTail) options.dictionary = previousTail;
    previousTail = Buffer.from(input.subarray(Math.max(0, input.length - WINDOW_BYTES)));
    const done = block;
    const job = deflateRaw(input, options).finally(() => spare.push(done));
    // Observed at once so a failure is not reported as unhandled before its turn comes; it is still rethrown in order.
    job.catch(() => undefined);
    block = spare.pop() ?? Buffer.allocUnsafe(BLOCK_BYTES);
    filled = 0;
    return job;
  };

  return new Transform({
    // Back-pressure: when the pool is full, the oldest block is awaited
    // before more input is taken.
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      crc = zlib.crc32(chunk, crc);
      size += chunk.length;
      // Most pieces of a tar stream are small (headers, small files): they
      // only need copying into the current block.
      if (filled + chunk.length <= BLOCK_BYTES) {
        filled += chunk.copy(block, filled);
        return cb();
      }
      void (async () => {
        for (let offset = 0; offset < chunk.length;) {
          // A full block is sent only once more input arrives, so the last block is never empty unless the input is.
          if (filled === BLOCK_BYTES) {
            inFlight.push(compress(false));
            if (inFlight.length >= limit) this.push(await (inFlight.shift() as Promise<Buffer>));
          }
          const n = chunk.copy(block, filled, offset);
          filled += n;
          offset += n;
        }
      })().then(() => cb(), cb);
    },
    flush(cb: TransformCallback) {
      void (async () => {
        inFlight.push(compress(true));
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
