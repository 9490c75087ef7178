import { mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsArtifactStore } from "@/lib/artifacts/fs-store";
import { UploadError, type UploadErrorCode } from "./errors";
import { quoteName } from "./format";
import { DEFAULT_UPLOAD_LIMITS, type UploadLimits } from "./limits";
import { processUpload } from "./process";
import { buildZip, dataOffset, listFiles, makeTmp, noise, patchEntry, writeZip, type ZipSpecEntry } from "./test-support";

const INDEX: ZipSpecEntry = { name: "index.html", data: "<!doctype html><title>ok</title>" };

let work: { dir: string; cleanup(): Promise<void> };
let tmp: string;
let storeRoot: string;
let store: FsArtifactStore;

beforeEach(async () => {
  work = await makeTmp("reject");
  tmp = path.join(work.dir, "tmp");
  storeRoot = path.join(work.dir, "store");
  await mkdir(tmp);
  store = new FsArtifactStore(storeRoot);
});
afterEach(async () => {
  await work.cleanup();
});

interface Expected {
  status: number;
  code: UploadErrorCode;
  entry?: string;
  message?: RegExp;
}

/**
 * Runs the refused upload, then checks that it left nothing behind and
 * that the same store and temp dir still take a good upload.
 */
async function expectRefused(zip: Buffer, expected: Expected, limits: UploadLimits = DEFAULT_UPLOAD_LIMITS): Promise<UploadError> {
  const zipPath = await writeZip(work.dir, "upload.zip", zip);
  const err: unknown = await processUpload(zipPath, limits, store, { tmpDir: tmp }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UploadError);
  const upload = err as UploadError;
  expect({ status: upload.status, code: upload.code }).toEqual({ status: expected.status, code: expected.code });
  if (expected.entry !== undefined) {
    expect(upload.entry).toBe(expected.entry);
    expect(upload.message).toContain(quoteName(expected.entry));
  }
  if (expected.message) expect(upload.message).toMatch(expected.message);
  expect(upload.message.length).toBeGreaterThan(20);

  expect(await listFiles(storeRoot).catch(() => [])).toEqual([]);
  expect(await readdir(tmp)).toEqual([]);

  const good = await writeZip(work.dir, "good.zip", await buildZip([INDEX]));
  const ok = await processUpload(good, limits, store, { tmpDir: tmp });
  expect(await store.has(ok.digest)).toBe(true);
  expect(await readdir(tmp)).toEqual([]);
  return upload;
}

/** A yazl-safe stand-in of the same byte length, to be renamed by patchEntry. */
function placeholder(name: string | Buffer): string {
  return "p".repeat(Buffer.isBuffer(name) ? name.length : Buffer.byteLength(name));
}

async function zipWithHostileName(name: string | Buffer): Promise<Buffer> {
  const stand = placeholder(name);
  const zip = await buildZip([INDEX, { name: stand, data: "x" }]);
  return patchEntry(zip, stand, { rename: name });
}

describe("not a usable zip", () => {
  it("refuses a file that is not a zip with 415", async () => {
    await expectRefused(Buffer.from("<html>this is not a zip</html>\n".repeat(20)), { status: 415, code: "not_a_zip", message: /not a zip/ });
  });

  it("refuses an empty file with 415", async () => {
    await expectRefused(Buffer.alloc(0), { status: 415, code: "not_a_zip" });
  });

  it("refuses a truncated zip", async () => {
    const zip = await buildZip([INDEX, { name: "big.bin", data: noise(20_000, 1) }]);
    await expectRefused(zip.subarray(0, Math.floor(zip.length / 2)), { status: 422, code: "truncated", message: /incomplete/ });
  });

  it("refuses an empty zip", async () => {
    await expectRefused(await buildZip([]), { status: 422, code: "empty_archive", message: /empty/ });
  });

  it("refuses a zip holding only system junk", async () => {
    const zip = await buildZip([{ name: ".DS_Store", data: "junk" }, { name: "__MACOSX/._index.html", data: "junk" }]);
    await expectRefused(zip, { status: 422, code: "empty_archive", message: /only system files/ });
  });

  it("refuses a zip over the archive size limit with 413 in human units", async () => {
    const zip = await buildZip([INDEX, { name: "a.bin", data: noise(40_000, 2) }]);
    await expectRefused(zip, { status: 413, code: "too_large", message: /32 KiB/ }, { ...DEFAULT_UPLOAD_LIMITS, maxArchiveBytes: 32 * 1024 });
  });

  it("refuses damaged deflate data, naming the entry", async () => {
    const zip = await buildZip([INDEX, { name: "app.js", data: "console.log('hello');\n".repeat(200) }]);
    const at = dataOffset(zip, "app.js");
    zip.fill(0xff, at, at + 4);
    await expectRefused(zip, { status: 422, code: "corrupt", entry: "app.js" });
  });

  it("refuses a CRC mismatch in stored data, naming the entry", async () => {
    const zip = await buildZip([INDEX, { name: "data.txt", data: "precious bytes ".repeat(50), compress: false }]);
    const at = dataOffset(zip, "data.txt");
    zip[at + 10] = (zip[at + 10] ?? 0) ^ 0x20;
    await expectRefused(zip, { status: 422, code: "crc_mismatch", entry: "data.txt", message: /checksum/ });
  });

  it("refuses a CRC mismatch in a large, streamed file", async () => {
    const zip = await buildZip([INDEX, { name: "media/clip.bin", data: noise(700 * 1024, 9), compress: false }]);
    const at = dataOffset(zip, "media/clip.bin") + 600 * 1024;
    zip[at] = (zip[at] ?? 0) ^ 0x01;
    await expectRefused(zip, { status: 422, code: "crc_mismatch", entry: "media/clip.bin" });
  });

  it("refuses damaged deflate data in a large, streamed file", async () => {
    const zip = await buildZip([INDEX, { name: "bundle.js", data: Buffer.concat([Buffer.from("let a = 1;\n".repeat(50_000)), noise(300 * 1024, 10)]) }]);
    const at = dataOffset(zip, "bundle.js");
    zip.fill(0xff, at, at + 4);
    await expectRefused(zip, { status: 422, code: "corrupt", entry: "bundle.js" });
  });

  it("refuses a CRC mismatch declared in the central directory", async () => {
    const zip = await buildZip([INDEX, { name: "style.css", data: "body{color:red}\n".repeat(100) }]);
    await expectRefused(patchEntry(zip, "style.css", { crc32: 0xdeadbeef }), { status: 422, code: "crc_mismatch", entry: "style.css" });
  });

  it("refuses an entry that holds more than it declares, without inflating it all", async () => {
    const zip = await buildZip([INDEX, { name: "liar.html", data: Buffer.alloc(8 * 1024 * 1024, 0x20) }]);
    await expectRefused(patchEntry(zip, "liar.html", { uncompressedSize: 1000 }), { status: 422, code: "size_mismatch", entry: "liar.html", message: /more data/ });
  });

  it("refuses an entry that holds less than it declares", async () => {
    const zip = await buildZip([INDEX, { name: "short.txt", data: "abc".repeat(100) }]);
    await expectRefused(patchEntry(zip, "short.txt", { uncompressedSize: 5000 }), { status: 422, code: "size_mismatch", entry: "short.txt", message: /less than/ });
  });

  it("refuses entries that share their data (overlapping zip bomb)", async () => {
    const body = "same size body ".repeat(10);
    const zip = await buildZip([INDEX, { name: "a1.html", data: body }, { name: "a2.html", data: body }]);
    await expectRefused(patchEntry(zip, "a2.html", { localHeaderOf: "a1.html" }), { status: 422, code: "overlapping_entries", entry: "a2.html" });
  });

  it("refuses an unsupported compression method, naming it", async () => {
    const zip = await buildZip([INDEX, { name: "lzma.js", data: "x".repeat(100) }]);
    await expectRefused(patchEntry(zip, "lzma.js", { method: 14 }), { status: 422, code: "unsupported_compression", entry: "lzma.js", message: /LZMA/ });
  });
});

describe("unsafe entries", () => {
  it("refuses .. path traversal", async () => {
    await expectRefused(await zipWithHostileName("../evil.html"), { status: 422, code: "path_traversal", entry: "../evil.html" });
  });

  it("refuses traversal hidden in the middle of a path", async () => {
    await expectRefused(await zipWithHostileName("a/b/../../../x.js"), { status: 422, code: "path_traversal", entry: "a/b/../../../x.js" });
  });

  it("refuses absolute paths", async () => {
    await expectRefused(await zipWithHostileName("/etc/cron.d/x"), { status: 422, code: "absolute_path", entry: "/etc/cron.d/x", message: /starts with "\/"/ });
  });

  it("refuses drive letters", async () => {
    await expectRefused(await zipWithHostileName("C:/Windows/x.dll"), { status: 422, code: "absolute_path", entry: "C:/Windows/x.dll", message: /drive letter/ });
  });

  it("refuses backslashes instead of reinterpreting them", async () => {
    await expectRefused(await zipWithHostileName("..\\..\\evil.sh"), { status: 422, code: "backslash", entry: "..\\..\\evil.sh" });
  });

  it("refuses NUL in a name", async () => {
    await expectRefused(await zipWithHostileName("ok.html\u0000.php"), { status: 422, code: "bad_name", entry: "ok.html\u0000.php", message: /U\+0000/ });
  });

  it("refuses other control characters", async () => {
    await expectRefused(await zipWithHostileName("bell\u0007.html"), { status: 422, code: "bad_name", entry: "bell\u0007.html", message: /control character \(U\+0007\)/ });
  });

  it("refuses a name flagged UTF-8 that is not UTF-8", async () => {
    const zip = await buildZip([INDEX, { name: "caf\u00e9.txt", data: "x" }]);
    const bad = Buffer.from([0x63, 0x61, 0x66, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74]);
    const err = await expectRefused(patchEntry(zip, "caf\u00e9.txt", { rename: bad }), { status: 422, code: "bad_name", message: /not valid UTF-8/ });
    expect(err.entry).toContain("caf");
  });

  it("refuses symlinks", async () => {
    const zip = await buildZip([INDEX, { name: "passwd", data: "/etc/passwd", mode: 0o120777 }]);
    await expectRefused(zip, { status: 422, code: "symlink", entry: "passwd", message: /symbolic link/ });
  });

  it("refuses symlink mode bits set by byte surgery on a DOS-made entry", async () => {
    const zip = await buildZip([INDEX, { name: "link", data: "../../../../etc/shadow" }]);
    await expectRefused(patchEntry(zip, "link", { unixMode: 0o120755 }), { status: 422, code: "symlink", entry: "link" });
  });

  it("refuses device and fifo entries", async () => {
    const zip = await buildZip([INDEX, { name: "pipe", data: "", mode: 0o010644 }]);
    await expectRefused(zip, { status: 422, code: "special_file", entry: "pipe" });
  });

  it("refuses encrypted entries", async () => {
    const zip = await buildZip([INDEX, { name: "secret.html", data: "x".repeat(50), compress: false }]);
    await expectRefused(patchEntry(zip, "secret.html", { flags: (f) => f | 0x1 }), { status: 422, code: "encrypted", entry: "secret.html", message: /password/ });
  });

  it("refuses strong encryption", async () => {
    const zip = await buildZip([INDEX, { name: "secret.html", data: "x".repeat(50) }]);
    await expectRefused(patchEntry(zip, "secret.html", { flags: (f) => f | 0x41 }), { status: 422, code: "encrypted" });
  });
});

describe("ambiguous names", () => {
  it("refuses exact duplicate paths", async () => {
    const zip = await buildZip([INDEX, { name: "a.html", data: "1" }, { name: "a.html", data: "2" }]);
    await expectRefused(zip, { status: 422, code: "duplicate_path", entry: "a.html", message: /appears twice/ });
  });

  it("refuses paths that differ only in case", async () => {
    const zip = await buildZip([INDEX, { name: "About.html", data: "1" }, { name: "about.html", data: "2" }]);
    await expectRefused(zip, { status: 422, code: "duplicate_path", entry: "about.html", message: /upper\/lower case/ });
  });

  it("refuses paths that differ only in Unicode normalization", async () => {
    const zip = await buildZip([INDEX, { name: "caf\u00e9.html", data: "1" }, { name: "cafe\u0301.html", data: "2" }]);
    await expectRefused(zip, { status: 422, code: "duplicate_path", entry: "cafe\u0301.html", message: /Unicode/ });
  });

  it("refuses a name used both as file and folder", async () => {
    const zip = await buildZip([INDEX, { name: "docs", data: "file" }, { name: "docs/index.html", data: "page" }]);
    await expectRefused(zip, { status: 422, code: "file_folder_conflict", entry: "docs" });
  });
});

describe("limits", () => {
  it("refuses over-long paths", async () => {
    const name = `${"long-folder-name/".repeat(16)}index.html`;
    await expectRefused(await buildZip([INDEX, { name, data: "x" }]), { status: 422, code: "name_too_long", entry: name, message: /255 bytes/ });
  });

  it("refuses over-deep paths", async () => {
    const name = `${"d/".repeat(40)}x.html`;
    await expectRefused(await buildZip([INDEX, { name, data: "x" }]), { status: 422, code: "path_too_deep", entry: name, message: /32 levels/ });
  });

  it("refuses too many files", async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({ name: `f${i}.txt`, data: `${i}` }));
    await expectRefused(await buildZip([INDEX, ...files]), { status: 413, code: "too_many_files", message: /more than 5 files/ }, { ...DEFAULT_UPLOAD_LIMITS, maxFiles: 5 });
  });

  it("refuses an entry count far beyond the file limit before reading entries", async () => {
    const dirs = Array.from({ length: 12 }, (_, i) => ({ name: `d${i}/`, dir: true }));
    await expectRefused(await buildZip([INDEX, ...dirs]), { status: 413, code: "too_many_files", message: /lists 13 entries/ }, { ...DEFAULT_UPLOAD_LIMITS, maxFiles: 2 });
  });

  it("refuses a site over the uncompressed limit", async () => {
    const zip = await buildZip([INDEX, { name: "a.bin", data: noise(700 * 1024, 3) }, { name: "b.bin", data: noise(700 * 1024, 4) }]);
    await expectRefused(zip, { status: 413, code: "uncompressed_too_large", message: /1 MiB/ }, { ...DEFAULT_UPLOAD_LIMITS, maxUncompressedBytes: 1024 * 1024 });
  });

  it("refuses a file over the per-file limit", async () => {
    const zip = await buildZip([INDEX, { name: "video.mp4", data: noise(200 * 1024, 5) }]);
    await expectRefused(zip, { status: 413, code: "file_too_large", entry: "video.mp4", message: /100 KiB/ }, { ...DEFAULT_UPLOAD_LIMITS, maxFileBytes: 100 * 1024 });
  });

  it("refuses a zip bomb by compression ratio", async () => {
    const zip = await buildZip([INDEX, { name: "bomb.html", data: Buffer.alloc(16 * 1024 * 1024) }]);
    expect(zip.length).toBeLessThan(100 * 1024);
    await expectRefused(zip, { status: 422, code: "ratio_too_high", entry: "bomb.html", message: /zip bomb/ });
  });

  it("catches a bomb whose declared size is small by counting inflated bytes", async () => {
    const zip = await buildZip([INDEX, { name: "bomb.css", data: Buffer.alloc(16 * 1024 * 1024) }]);
    // Declare 900 KiB: under the ratio grace, so only the streaming count can stop it.
    await expectRefused(patchEntry(zip, "bomb.css", { uncompressedSize: 900 * 1024 }), { status: 422, code: "size_mismatch", entry: "bomb.css" });
  });

  it("applies the ratio to measured bytes too (declared size honest, limit lowered)", async () => {
    const data = Buffer.alloc(3 * 1024 * 1024, 0x61);
    const compressed = zlib.deflateRawSync(data).length;
    expect(data.length / compressed).toBeGreaterThan(50);
    await expectRefused(await buildZip([INDEX, { name: "aaa.txt", data }]), { status: 422, code: "ratio_too_high", entry: "aaa.txt" }, { ...DEFAULT_UPLOAD_LIMITS, maxCompressionRatio: 50 });
  });
});

describe("missing index.html", () => {
  it("refuses a site without index.html", async () => {
    await expectRefused(await buildZip([{ name: "home.html", data: "x" }, { name: "css/a.css", data: "y" }]), { status: 422, code: "no_index_html", message: /needs an index\.html/ });
  });

  it("points at index.html in a subfolder that has siblings", async () => {
    const zip = await buildZip([{ name: "README.md", data: "readme" }, { name: "site/index.html", data: "x" }, { name: "site/a.css", data: "y" }]);
    await expectRefused(zip, { status: 422, code: "no_index_html", entry: "site/index.html", message: /found at "site\/index.html": zip the contents of the "site" folder/ });
  });

  it("explains case sensitivity for Index.HTML", async () => {
    await expectRefused(await buildZip([{ name: "Index.HTML", data: "x" }]), { status: 422, code: "no_index_html", entry: "Index.HTML", message: /case-sensitive/ });
  });

  it("explains a zip that only holds another zip", async () => {
    const inner = await buildZip([INDEX]);
    await expectRefused(await buildZip([{ name: "site.zip", data: inner }]), { status: 422, code: "no_index_html", entry: "site.zip", message: /Upload that zip instead/ });
  });
});
