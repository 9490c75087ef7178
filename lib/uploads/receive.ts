import { open } from "node:fs/promises";
import path from "node:path";
import { UploadError } from "./errors";
import { formatBytes } from "./format";
import { DEFAULT_ADMISSION_LIMITS } from "./limits";
import { idleTimeout, insufficientStorage, isNoSpaceError, uploadTooSlow } from "./limit-error";
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
  /** Longest wait for the next chunk; DEFAULT_ADMISSION_LIMITS.idleTimeoutMs by default. */
  idleTimeoutMs?: number;
  /** Longest time the whole body may take; DEFAULT_ADMISSION_LIMITS.deadlineMs by default. */
  deadlineMs?: number;
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
 * fill the disk by lying about (or omitting) Content-Length, and the clock
 * is too: a client that stops sending, or trickles a byte now and then, is
 * cut off and its partial file removed.
 */
export async function receiveToTempFile(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, opts: ReceiveOptions): Promise<ReceivedUpload> {
  const { maxBytes, declaredLength } = opts;
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_ADMISSION_LIMITS.idleTimeoutMs;
  const deadlineMs = opts.deadlineMs ?? DEFAULT_ADMISSION_LIMITS.deadlineMs;
  if (!Number.isFinite(maxBytes) || maxBytes <= 0) throw new TypeError(`maxBytes must be positive, got ${maxBytes}`);
  for (const [name, value] of [
    ["idleTimeoutMs", idleMs],
    ["deadlineMs", deadlineMs],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be positive, got ${value}`);
  }
  const stream = body instanceof ReadableStream ? body : streamOf(body);
  if (declaredLength != null && declaredLength > maxBytes) {
    await cancelBody(stream);
    throw tooLarge(maxBytes, declaredLength);
  }

  const reader = stream.getReader();
  const deadline = performance.now() + deadlineMs;
  let dir;
  try {
    dir = await makeTempDir("pagoda-upload", opts.tmpDir);
  } catch (err) {
    stopReading(reader);
    throw isNoSpaceError(err) ? insufficientStorage(err) : err;
  }
  const file = path.join(dir.path, "upload.zip");
  let bytes = 0;
  try {
    const handle = await open(file, "wx", 0o600);
    try {
      for (;;) {
        const left = deadline - performance.now();
        const next = await readWithin(reader, Math.min(idleMs, left));
        if (next === "timeout") {
          // Whichever clock ran out first names the refusal.
          throw left <= idleMs ? uploadTooSlow(deadlineMs, bytes) : idleTimeout(idleMs, bytes);
        }
        if (next.done) break;
        const chunk = next.value;
        bytes += chunk.byteLength;
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
    // Stops a hostile client being read the moment it crosses a line.
    stopReading(reader);
    await dir.cleanup();
    throw isNoSpaceError(err) ? insufficientStorage(err) : err;
  }
  reader.releaseLock();
  return { path: file, bytes, cleanup: dir.cleanup };
}

function streamOf(iterable: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = iterable[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

/** The next chunk, or "timeout" when none arrives within `ms`. */
async function readWithin(reader: ReadableStreamDefaultReader<Uint8Array>, ms: number): Promise<ReadableStreamReadResult<Uint8Array> | "timeout"> {
  if (ms <= 0) return "timeout";
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    return await Promise.race([reader.read(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Cancels the body without waiting: a stalled source may never acknowledge
 * the cancel, and the answer does not depend on it. A rejection is expected
 * when the source already failed (the client went away).
 */
function stopReading(reader: ReadableStreamDefaultReader<Uint8Array>): void {
  reader.cancel().catch(() => undefined);
}

async function writeAll(handle: import("node:fs/promises").FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

async function cancelBody(body: ReadableStream<Uint8Array>): Promise<void> {
  // The body is being refused; whether the cancel itself succeeds does not
  // change the answer, but a rejected promise must not go unhandled.
  await body.cancel().catch(() => undefined);
}
