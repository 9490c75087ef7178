import { open } from "node:fs/promises";
import path from "node:path";
import { UploadError } from "./errors";
import { formatBytes } from "./format";
import { makeTempDir } from "./temp";

export interface ReceivedUpload {
  /** The zip on disk, inside a private directory of its own. */
  path: string;
  bytes: number;
  /** Removes the file and its directory. The caller must call it when done. */
  cleanup(): Promise<void>;
}

export interface ReceiveOptions {
  maxBytes: number;
  /** Parent for the private temp directory; the OS temp dir by default. */
  tmpDir?: string;
  /** Content-Length from the request, when the client sent one. */
  declaredLength?: number | null;
}

function tooLarge(limit: number, declared?: number): UploadError {
  const size = declared === undefined ? "larger than" : `${formatBytes(declared)}, over`;
  return new UploadError(
    "too_large",
    `The upload is ${size} the ${formatBytes(limit)} limit. Remove files the site does not need, or compress large media before zipping.`,
  );
}

/**
 * Streams a request body to a temp file, never holding more than one chunk
 * in memory. The size limit is enforced as bytes arrive so a client cannot
 * fill the disk by lying about (or omitting) Content-Length.
 */
export async function receiveToTempFile(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  opts: ReceiveOptions,
): Promise<ReceivedUpload> {
  const { maxBytes, declaredLength } = opts;
  if (!Number.isFinite(maxBytes) || maxBytes <= 0) throw new TypeError(`maxBytes must be positive, got ${maxBytes}`);
  if (declaredLength != null && declaredLength > maxBytes) {
    await cancelBody(body);
    throw tooLarge(maxBytes, declaredLength);
  }

  const dir = await makeTempDir("pagoda-upload", opts.tmpDir);
  const file = path.join(dir.path, "upload.zip");
  let bytes = 0;
  try {
    const handle = await open(file, "wx", 0o600);
    try {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        // Leaving the loop cancels the body, so a hostile client stops
        // being read the moment it crosses the line.
        if (bytes > maxBytes) throw tooLarge(maxBytes);
        if (declaredLength != null && bytes > declaredLength) {
          throw new UploadError("bad_request", `The upload sent more data than its declared length of ${declaredLength} bytes.`);
        }
        await writeAll(handle, chunk);
      }
    } finally {
      await handle.close();
    }
    if (declaredLength != null && bytes !== declaredLength) {
      throw new UploadError(
        "bad_request",
        `The upload ended after ${bytes} bytes but declared ${declaredLength}; the connection was probably interrupted. Please try again.`,
      );
    }
  } catch (err) {
    await dir.cleanup();
    throw err;
  }
  return { path: file, bytes, cleanup: dir.cleanup };
}

async function writeAll(handle: import("node:fs/promises").FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

async function cancelBody(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  if (body instanceof ReadableStream) {
    // The body is being refused; whether the cancel itself succeeds does not
    // change the answer, but a rejected promise must not go unhandled.
    await body.cancel().catch(() => undefined);
  }
}
