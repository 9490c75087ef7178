import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { coalesce } from "./upload";

/** The blocks as a piped destination (the request) is handed them: one 'data' event each. */
function blocksOf(pieces: Buffer[], blockBytes: number): Promise<Buffer[]> {
  const blocks: Buffer[] = [];
  const stream = Readable.from(pieces).pipe(coalesce(blockBytes));
  stream.on("data", (block: Buffer) => blocks.push(block));
  return new Promise((resolve, reject) => {
    stream.on("end", () => resolve(blocks));
    stream.on("error", reject);
  });
}

describe("coalesce", () => {
  it("sends a writer's many small pieces as full blocks, the same bytes in the same order", async () => {
    const pieces = Array.from({ length: 500 }, (_, i) => Buffer.alloc(1 + ((i * 53) % 300), i % 256));
    const blocks = await blocksOf(pieces, 4096);
    expect(Buffer.concat(blocks)).toEqual(Buffer.concat(pieces));
    expect(blocks.slice(0, -1).every((block) => block.length === 4096)).toBe(true);
    expect(blocks.at(-1)!.length).toBeLessThanOrEqual(4096);
    expect(blocks.length).toBe(Math.ceil(Buffer.concat(pieces).length / 4096));
  });

  it("never hands out a block it writes into again", async () => {
    const blocks = await blocksOf([Buffer.alloc(10_000, 1), Buffer.alloc(10_000, 2)], 4096);
    const seen = Buffer.concat(blocks);
    expect(seen.subarray(0, 10_000).every((b) => b === 1)).toBe(true);
    expect(seen.subarray(10_000).every((b) => b === 2)).toBe(true);
  });
});
