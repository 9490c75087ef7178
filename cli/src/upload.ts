import { createReadStream } from "node:fs";
import http from "node:http";
import https from "node:https";
import { Transform, type Readable } from "node:stream";
import { errorFromResponse, unreachable, type Api, type Deploy } from "./api";
import { CliError } from "./errors";

export interface UploadEvents {
  /** Bytes of the zip handed to the connection so far (total null while the zip is still being written). */
  onProgress?: (sent: number, total: number | null) => void;
  /** Every byte is sent; the server is unpacking and storing the deploy. */
  onProcessing?: () => void;
}

/** A zip file already on disk: sent with its length declared. */
export function uploadZipFile(api: Api, path: string, file: string, bytes: number, events: UploadEvents = {}): Promise<Deploy> {
  return uploadBody(api, path, createReadStream(file, { highWaterMark: 256 * 1024 }), bytes, events);
}

/**
 * Sends the zip as the raw request body as it is read from `input`, with
 * backpressure from the connection, so memory stays flat whatever the size
 * of the site. With `bytes` null the body goes in chunked transfer encoding
 * (the server counts what arrives against its limits either way): a zip
 * being written can be sent while it is written.
 */
export function uploadBody(api: Api, path: string, input: Readable, bytes: number | null, events: UploadEvents = {}): Promise<Deploy> {
  const source = bytes === null ? input.pipe(coalesce(CHUNK_BYTES)) : input;
  if (source !== input) input.on("error", (error) => source.destroy(error));
  const target = new URL(api.url(path));
  const client = target.protocol === "https:" ? https : http;
  return new Promise<Deploy>((resolve, reject) => {
    const request = client.request(target, {
      method: "POST",
      headers: api.headers({
        "content-type": "application/zip",
        ...(bytes === null ? { "transfer-encoding": "chunked" } : { "content-length": String(bytes) }),
      }),
    });
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    request.on("error", (error) => fail(unreachable(api.baseUrl, error)));
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", fail);
      response.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const status = response.statusCode ?? 0;
        const headers = new Headers();
        for (const [key, value] of Object.entries(response.headers)) {
          if (typeof value === "string") headers.set(key, value);
        }
        if (status !== 201) {
          source.unpipe(request);
          source.destroy();
          input.destroy();
          void errorFromResponse(new Response(body, { status, headers })).then(fail, fail);
          return;
        }
        try {
          const parsed = JSON.parse(body) as { deploy: Deploy };
          settled = true;
          resolve(parsed.deploy);
        } catch (error) {
          fail(new CliError("bad_response", "The dashboard accepted the upload but did not answer with the deploy.", { cause: error }));
        }
      });
    });
    let sent = 0;
    source.on("data", (chunk) => {
      sent += chunk.length;
      events.onProgress?.(sent, bytes);
    });
    source.on("error", (error) => {
      // The server sees a cut-off body and stores nothing; the reason is ours to tell.
      request.destroy();
      fail(error);
    });
    source.on("end", () => events.onProcessing?.());
    source.pipe(request);
  });
}

/**
 * A zip writer hands over every local header, data descriptor and deflate
 * output piece on its own, tens of thousands of writes of a few bytes to a
 * few KiB for a large site. Each would go out as an HTTP chunk of its own,
 * and the server reads, times and writes to disk every chunk apart: at
 * 10,000 files that was seconds of its time after the last byte. Sent in
 * blocks of this size instead, as a file with a declared length is.
 */
export const CHUNK_BYTES = 64 * 1024;

/** Gathers a stream's small pieces into blocks of `blockBytes` (the last one shorter). */
export function coalesce(blockBytes: number): Transform {
  let block = Buffer.allocUnsafe(blockBytes);
  let filled = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = chunk.copy(block, filled, offset);
        filled += n;
        offset += n;
        if (filled === blockBytes) {
          // The block goes to the connection as it is, so the next one is new.
          this.push(block);
          block = Buffer.allocUnsafe(blockBytes);
          filled = 0;
        }
      }
      callback();
    },
    flush(callback) {
      if (filled > 0) this.push(block.subarray(0, filled));
      callback();
    },
  });
}
