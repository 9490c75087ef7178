import { mkdir } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import yazl from "yazl";
import { FsArtifactStore } from "@/lib/artifacts/fs-store";
import { DEFAULT_UPLOAD_LIMITS } from "./limits";
import { processUpload } from "./process";
import { craftZip, makeTmp, writeZip } from "./test-support";

/**
 * The local-header checks must not refuse what honest writers produce:
 * data descriptors, ZIP64 local fields, extra fields that differ between the
 * two headers. Each hostile zip in reject.test.ts has its honest twin here,
 * so a refusal there is about the lie, not about the crafting.
 */
let work: { dir: string; cleanup(): Promise<void> };
let store: FsArtifactStore;
let tmp: string;

beforeEach(async () => {
  work = await makeTmp("zip-local");
  tmp = path.join(work.dir, "tmp");
  await mkdir(tmp);
  store = new FsArtifactStore(path.join(work.dir, "store"));
});
afterEach(async () => {
  await work.cleanup();
});

async function accept(zip: Buffer) {
  const file = await writeZip(work.dir, `z-${Math.random().toString(36).slice(2)}.zip`, zip);
  return processUpload(file, DEFAULT_UPLOAD_LIMITS, store, { tmpDir: tmp });
}

const page = "<h1>hi</h1>";

describe("honest local headers", () => {
  it("accepts the crafted layouts without their lie", async () => {
    expect((await accept(craftZip([{ name: "index.html", data: page }]))).fileCount).toBe(1);
    expect(
      (
        await accept(
          craftZip([
            { name: "index.html", data: page },
            { name: "hidden.html", data: "<script>steal()</script>" },
          ]),
        )
      ).fileCount,
    ).toBe(2);
    expect(
      (
        await accept(
          craftZip([
            { name: "index.html", data: page },
            { name: "shared-a.html", data: "same bytes!!" },
            { name: "shared-b.html", data: "same bytes!!" },
          ]),
        )
      ).fileCount,
    ).toBe(3);
    expect(
      (
        await accept(
          craftZip([
            { name: "index.html", data: page },
            { name: "app.js", data: "x".repeat(40), compress: true },
          ]),
        )
      ).fileCount,
    ).toBe(2);
    expect(
      (
        await accept(
          craftZip([
            { name: "index.html", data: page },
            { name: "caf\u00e9.html", data: "x", flags: 0x800 },
          ]),
        )
      ).fileCount,
    ).toBe(2);
  });

  it("accepts a local extra field that the central record does not have", async () => {
    const timestamp = Buffer.from([0x55, 0x54, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]);
    expect((await accept(craftZip([{ name: "index.html", data: page, local: { extra: timestamp } }]))).fileCount).toBe(1);
  });

  it("accepts sizes given in a local ZIP64 field", async () => {
    const result = await accept(
      craftZip([
        { name: "index.html", data: page, local: { zip64: true } },
        { name: "a.css", data: "a{}".repeat(500), compress: true, local: { zip64: true } },
      ]),
    );
    expect(result.fileCount).toBe(2);
  });

  it("accepts CRC and sizes deferred to data descriptors (streamed zips)", async () => {
    const zip = new yazl.ZipFile();
    // Without a size, yazl cannot know CRC and sizes up front: bit 3 set, zeros in the local header.
    zip.addReadStream(Readable.from([Buffer.from(page)]), "index.html");
    zip.addReadStream(Readable.from([Buffer.from("body{}".repeat(2000))]), "css/site.css");
    zip.end();
    const chunks: Buffer[] = [];
    for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    expect(bytes.readUInt16LE(6) & 0x8).toBe(0x8);
    expect(bytes.readUInt32LE(14)).toBe(0);
    const result = await accept(bytes);
    expect(result.fileCount).toBe(2);
  });
});
