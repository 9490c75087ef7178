import { Transform, type TransformCallback } from "node:stream";
import zlib from "node:zlib";

/**
 * A gzip member whose bytes depend only on the input and the level.
 * zlib's own gzip wrapper writes the host OS into the header, so the same
 * site would hash differently on different platforms; we write the 10-byte
 * header and 8-byte trailer (RFC 1952) ourselves around a raw deflate
 * stream: no name, no mtime, OS "unknown".
 *
 * Returned as three stages to pass to stream.pipeline, which then carries
 * back-pressure and errors through all of them.
 */
export function deterministicGzip(level: number): [Transform, zlib.DeflateRaw, Transform] {
  let crc = 0;
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      crc = zlib.crc32(chunk, crc);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const deflate = zlib.createDeflateRaw({ level, memLevel: 8, windowBits: 15 });
  const framer = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(crc >>> 0, 0);
      trailer.writeUInt32LE(size % 2 ** 32, 4);
      cb(null, trailer);
    },
  });
  framer.push(GZIP_HEADER);
  return [tap, deflate, framer];
}

// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown)
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
