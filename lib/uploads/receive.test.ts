import { mkdir, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UploadError } from "./errors";
import { UploadLimitError } from "./limit-error";
import { receiveToTempFile } from "./receive";
import { makeTmp, noise } from "./test-support";

let work: { dir: string; cleanup(): Promise<void> };
let tmp: string;

beforeEach(async () => {
  work = await makeTmp("receive");
  tmp = path.join(work.dir, "tmp");
  await mkdir(tmp);
});
afterEach(async () => {
  await work.cleanup();
});

/** A body that records how far it was read, like a client still sending. */
function body(chunks: readonly Buffer[], opts: { failAt?: number } = {}) {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (opts.failAt !== undefined && state.pulled === opts.failAt) {
        controller.error(new Error("connection reset by peer"));
        return;
      }
      const next = chunks[state.pulled];
      state.pulled += 1;
      if (next) controller.enqueue(new Uint8Array(next));
      else controller.close();
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

const KiB = 1024;

describe("receiveToTempFile", () => {
  it("streams the body into a private temp file", async () => {
    const chunks = Array.from({ length: 10 }, (_, i) => noise(64 * KiB, i + 1));
    const { stream } = body(chunks);
    const got = await receiveToTempFile(stream, { maxBytes: 1024 * KiB, tmpDir: tmp, declaredLength: 640 * KiB });
    expect(got.bytes).toBe(640 * KiB);
    expect((await readFile(got.path)).equals(Buffer.concat(chunks))).toBe(true);
    expect(path.dirname(path.dirname(got.path))).toBe(tmp);
    await got.cleanup();
    expect(await readdir(tmp)).toEqual([]);
  });

  it("accepts async iterables", async () => {
    async function* gen() {
      yield new Uint8Array([1, 2, 3]);
      yield new Uint8Array([4]);
    }
    const got = await receiveToTempFile(gen(), { maxBytes: 10, tmpDir: tmp });
    expect([...(await readFile(got.path))]).toEqual([1, 2, 3, 4]);
    await got.cleanup();
  });

  it("refuses a declared length over the limit before reading anything", async () => {
    const { stream, state } = body([noise(10, 1)]);
    const err = await receiveToTempFile(stream, { maxBytes: 100 * 1024 * 1024, tmpDir: tmp, declaredLength: 150 * 1024 * 1024 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect(err).toMatchObject({ status: 413, code: "too_large" });
    expect((err as Error).message).toContain("150 MiB");
    expect((err as Error).message).toContain("100 MiB limit");
    expect(state.pulled).toBe(0);
    expect(state.cancelled).toBe(true);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("stops reading once the limit is crossed and removes the partial file", async () => {
    const chunks = Array.from({ length: 100 }, (_, i) => noise(16 * KiB, i + 1));
    const { stream, state } = body(chunks);
    const err = await receiveToTempFile(stream, { maxBytes: 100 * KiB, tmpDir: tmp }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 413, code: "too_large" });
    expect((err as Error).message).toContain("100 KiB");
    expect(state.pulled).toBeLessThan(12);
    expect(state.cancelled).toBe(true);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("removes the temp file when the client disconnects", async () => {
    const { stream } = body([noise(1000, 1), noise(1000, 2)], { failAt: 1 });
    await expect(receiveToTempFile(stream, { maxBytes: 1e6, tmpDir: tmp })).rejects.toThrow("connection reset by peer");
    expect(await readdir(tmp)).toEqual([]);
  });

  it("refuses a body shorter than its declared length", async () => {
    const { stream } = body([noise(1000, 1)]);
    const err = await receiveToTempFile(stream, { maxBytes: 1e6, tmpDir: tmp, declaredLength: 5000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: "bad_request" });
    expect(await readdir(tmp)).toEqual([]);
  });

  it("refuses a body longer than its declared length", async () => {
    const { stream } = body([noise(1000, 1), noise(1000, 2)]);
    const err = await receiveToTempFile(stream, { maxBytes: 1e6, tmpDir: tmp, declaredLength: 1500 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: "bad_request" });
    expect(await readdir(tmp)).toEqual([]);
  });

  it("cuts off a client that stops sending, and removes the partial file", async () => {
    // One chunk, then silence: pull never delivers again, like a stalled connection.
    const state = { cancelled: false };
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(noise(1000, 1)));
      },
      pull() {
        return new Promise<void>(() => undefined);
      },
      cancel() {
        state.cancelled = true;
      },
    });
    const err = await receiveToTempFile(stream, { maxBytes: 1e6, tmpDir: tmp, declaredLength: 5000, idleTimeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadLimitError);
    expect(err).toMatchObject({ status: 408, code: "idle_timeout" });
    expect((err as Error).message).toContain("no data arrived for 0 seconds after 1000 bytes");
    expect(state.cancelled).toBe(true);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("cuts off a client that trickles bytes past the deadline, however steadily", async () => {
    let sent = 0;
    const state = { cancelled: false };
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        // A byte every 10 ms never trips the idle timeout.
        await new Promise((resolve) => setTimeout(resolve, 10));
        sent += 1;
        controller.enqueue(new Uint8Array([sent & 0xff]));
      },
      cancel() {
        state.cancelled = true;
      },
    });
    const err = await receiveToTempFile(stream, { maxBytes: 1e6, tmpDir: tmp, idleTimeoutMs: 1000, deadlineMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadLimitError);
    expect(err).toMatchObject({ status: 408, code: "upload_too_slow" });
    expect((err as Error).message).toContain("longer than the 0 seconds allowed");
    expect(sent).toBeGreaterThan(3);
    expect(state.cancelled).toBe(true);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("times out an async iterable that stalls too", async () => {
    async function* stalls() {
      yield new Uint8Array([1, 2, 3]);
      await new Promise(() => undefined);
    }
    const err = await receiveToTempFile(stalls(), { maxBytes: 10, tmpDir: tmp, idleTimeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 408, code: "idle_timeout" });
    expect(await readdir(tmp)).toEqual([]);
  });
});
