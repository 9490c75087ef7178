import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { BLOCK_BYTES, parallelGzip } from "./parallel-gzip";

/**
 * 20 KB of noise, repeated: only matches reaching back into the previous
 * block can compress the start of each block, so a block that starts
 * without its predecessor's window costs 20 KB.
 */
function sample(bytes: number): Buffer {
  const noise = randomBytes(20_000);
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += noise.length) noise.copy(out, i);
  return out;
}

async function gzipInChunks(data: Buffer, chunkSizes: number[], parallelism: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let i = 0, k = 0; i < data.length; k++) {
    const n = chunkSizes[k % chunkSizes.length] ?? 1;
    chunks.push(data.subarray(i, i + n));
    i += n;
  }
  return buffer(Readable.from(chunks).pipe(parallelGzip({ level: 6, parallelism })));
}

describe("parallelGzip", () => {
  const sizes = [0, 1, 1000, BLOCK_BYTES - 1, BLOCK_BYTES, BLOCK_BYTES + 1, 3 * BLOCK_BYTES + 12345];

  it.each(sizes)("round-trips %i bytes through zlib and gzip(1)", async (size) => {
    const data = sample(size);
    const gz = await gzipInChunks(data, [65536], 4);
    expect(zlib.gunzipSync(gz).equals(data)).toBe(true);
    // A second, independent decoder, which also checks the trailer's CRC and length.
    expect(execFileSync("gzip", ["-dc"], { input: gz, maxBuffer: 64 * BLOCK_BYTES }).equals(data)).toBe(true);
  });

  it("gives the same bytes whatever the parallelism and however the input is split", async () => {
    const data = sample(2 * BLOCK_BYTES + 777);
    const reference = await gzipInChunks(data, [65536], 1);
    expect((await gzipInChunks(data, [1, 4096, 300000], 2)).equals(reference)).toBe(true);
    expect((await gzipInChunks(data, [BLOCK_BYTES * 3], 8)).equals(reference)).toBe(true);
  });

  it("compresses about as well as one long stream, by carrying the window across blocks", async () => {
    const data = sample(4 * BLOCK_BYTES);
    const ours = await gzipInChunks(data, [65536], 4);
    const single = zlib.gzipSync(data, { level: 6 });
    expect(ours.length).toBeLessThan(single.length * 1.01 + 100);
  });
});
