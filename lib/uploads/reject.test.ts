import { mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsArtifactStore } from "@/lib/artifacts/fs-store";
import { UploadError, type UploadErrorCode } from "./errors";
import { quoteName } from "./format";
import { DEFAULT_UPLOAD_LIMITS, type UploadLimits } from "./limits";
import { processUpload } from "./process";
import { buildZip, craftZip, dataOffset, listFiles, makeTmp, noise, patchEntry, writeZip, type ZipSpecEntry } from "./test-support";

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

/** Phrases of yauzl's and zlib's own messages: none may reach a person. */
const LIBRARY_TEXT =
  /invalid (block type|stored block|distance|code|literal|bit length|header|local|central|zip64)|unexpected (end of file|EOF)|incorrect (header|data) check|too many length|signature|overflows file bounds|extended information|extra field length|comment length|multi-disk|Z_[A-Z]+_ERROR|ERR_[A-Z_]+|0x[0-9a-f]{4,}/i;

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
  expect(upload.message).not.toMatch(LIBRARY_TEXT);

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
    const zip = await buildZip([
      { name: ".DS_Store", data: "junk" },
      { name: "__MACOSX/._index.html", data: "junk" },
    ]);
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
    await expectRefused(patchEntry(zip, "liar.html", { uncompressedSize: 1000 }), {
      status: 422,
      code: "size_mismatch",
      entry: "liar.html",
      message: /more data/,
    });
  });

  it("refuses an entry that holds less than it declares", async () => {
    const zip = await buildZip([INDEX, { name: "short.txt", data: "abc".repeat(100) }]);
    await expectRefused(patchEntry(zip, "short.txt", { uncompressedSize: 5000 }), {
      status: 422,
      code: "size_mismatch",
      entry: "short.txt",
      message: /less than/,
    });
  });

  it("refuses entries that share their data (overlapping zip bomb)", async () => {
    const body = "same size body ".repeat(10);
    const zip = await buildZip([INDEX, { name: "a1.html", data: body }, { name: "a2.html", data: body }]);
    await expectRefused(patchEntry(zip, "a2.html", { localHeaderOf: "a1.html" }), { status: 422, code: "overlapping_entries", entry: "a2.html" });
  });

  it("refuses deflate data that ends too soon, in our words", async () => {
    const zip = await buildZip([INDEX, { name: "app.js", data: Buffer.concat([Buffer.from("console.log(1);\n".repeat(100)), noise(2000, 12)]) }]);
    const compressed = zip.readUInt32LE(dataOffset(zip, "app.js") - 30 - "app.js".length + 18);
    await expectRefused(patchEntry(zip, "app.js", { compressedSize: compressed - 100 }), {
      status: 422,
      code: "truncated",
      entry: "app.js",
      message: /ends before the file is complete/,
    });
  });

  it("refuses bytes appended after the end of the zip", async () => {
    const zip = await buildZip([INDEX]);
    await expectRefused(Buffer.concat([zip, Buffer.from("trailing garbage")]), { status: 422, code: "corrupt", message: /does not end where the file ends/ });
  });

  it("refuses a damaged record in the table of contents", async () => {
    const zip = await buildZip([INDEX, { name: "b.html", data: "b" }]);
    const second = zip.lastIndexOf(Buffer.from("PK\u0001\u0002", "latin1"));
    zip.writeUInt32LE(0x01020304, second);
    await expectRefused(zip, { status: 422, code: "corrupt", message: /damaged after 1 entry: the next record/ });
  });

  it("refuses a table of contents that claims more entries than it holds", async () => {
    const zip = await buildZip([INDEX]);
    const eocd = zip.length - 22;
    zip.writeUInt16LE(2, eocd + 8);
    zip.writeUInt16LE(2, eocd + 10);
    await expectRefused(zip, { status: 422, code: "truncated", message: /table of contents is cut short after 1 entry/ });
  });

  it("refuses one part of a split archive", async () => {
    const zip = await buildZip([INDEX]);
    zip.writeUInt16LE(1, zip.length - 22 + 4);
    await expectRefused(zip, { status: 422, code: "split_archive", message: /split/ });
  });

  it("refuses extra information that runs past its record", async () => {
    const zip = await buildZip([INDEX]);
    const central = zip.lastIndexOf(Buffer.from("PK\u0001\u0002", "latin1"));
    // yazl writes one extended-timestamp field: make its length overrun the record.
    const field = central + 46 + "index.html".length;
    expect(zip.readUInt16LE(field)).toBe(0x5455);
    zip.writeUInt16LE(200, field + 2);
    await expectRefused(zip, { status: 422, code: "corrupt", message: /extra information/ });
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
    await expectRefused(await zipWithHostileName("C:/Windows/x.dll"), {
      status: 422,
      code: "absolute_path",
      entry: "C:/Windows/x.dll",
      message: /drive letter/,
    });
  });

  it("refuses backslashes instead of reinterpreting them", async () => {
    await expectRefused(await zipWithHostileName("..\\..\\evil.sh"), { status: 422, code: "backslash", entry: "..\\..\\evil.sh" });
  });

  it("refuses NUL in a name", async () => {
    await expectRefused(await zipWithHostileName("ok.html\u0000.php"), { status: 422, code: "bad_name", entry: "ok.html\u0000.php", message: /U\+0000/ });
  });

  it("refuses other control characters", async () => {
    await expectRefused(await zipWithHostileName("bell\u0007.html"), {
      status: 422,
      code: "bad_name",
      entry: "bell\u0007.html",
      message: /control character \(U\+0007\)/,
    });
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
    await expectRefused(patchEntry(zip, "secret.html", { flags: (f) => f | 0x1 }), {
      status: 422,
      code: "encrypted",
      entry: "secret.html",
      message: /password/,
    });
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
    await expectRefused(
      await buildZip([INDEX, ...files]),
      { status: 413, code: "too_many_files", message: /more than 5 files/ },
      { ...DEFAULT_UPLOAD_LIMITS, maxFiles: 5 },
    );
  });

  it("refuses an entry count far beyond the file limit before reading entries", async () => {
    const dirs = Array.from({ length: 12 }, (_, i) => ({ name: `d${i}/`, dir: true }));
    await expectRefused(
      await buildZip([INDEX, ...dirs]),
      { status: 413, code: "too_many_files", message: /lists 13 entries/ },
      { ...DEFAULT_UPLOAD_LIMITS, maxFiles: 2 },
    );
  });

  it("refuses a site over the uncompressed limit", async () => {
    const zip = await buildZip([INDEX, { name: "a.bin", data: noise(700 * 1024, 3) }, { name: "b.bin", data: noise(700 * 1024, 4) }]);
    await expectRefused(
      zip,
      { status: 413, code: "uncompressed_too_large", message: /1 MiB/ },
      { ...DEFAULT_UPLOAD_LIMITS, maxUncompressedBytes: 1024 * 1024 },
    );
  });

  it("refuses a file over the per-file limit", async () => {
    const zip = await buildZip([INDEX, { name: "video.mp4", data: noise(200 * 1024, 5) }]);
    await expectRefused(
      zip,
      { status: 413, code: "file_too_large", entry: "video.mp4", message: /100 KiB/ },
      { ...DEFAULT_UPLOAD_LIMITS, maxFileBytes: 100 * 1024 },
    );
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
    await expectRefused(
      await buildZip([INDEX, { name: "aaa.txt", data }]),
      { status: 422, code: "ratio_too_high", entry: "aaa.txt" },
      { ...DEFAULT_UPLOAD_LIMITS, maxCompressionRatio: 50 },
    );
  });
});

describe("missing index.html", () => {
  it("refuses a site without index.html", async () => {
    await expectRefused(
      await buildZip([
        { name: "home.html", data: "x" },
        { name: "css/a.css", data: "y" },
      ]),
      { status: 422, code: "no_index_html", message: /needs an index\.html/ },
    );
  });

  it("points at index.html in a subfolder that has siblings", async () => {
    const zip = await buildZip([
      { name: "README.md", data: "readme" },
      { name: "site/index.html", data: "x" },
      { name: "site/a.css", data: "y" },
    ]);
    await expectRefused(zip, {
      status: 422,
      code: "no_index_html",
      entry: "site/index.html",
      message: /found at "site\/index.html": zip the contents of the "site" folder/,
    });
  });

  it("explains case sensitivity for Index.HTML", async () => {
    await expectRefused(await buildZip([{ name: "Index.HTML", data: "x" }]), {
      status: 422,
      code: "no_index_html",
      entry: "Index.HTML",
      message: /case-sensitive/,
    });
  });

  it("explains a zip that only holds another zip", async () => {
    const inner = await buildZip([INDEX]);
    await expectRefused(await buildZip([{ name: "site.zip", data: inner }]), {
      status: 422,
      code: "no_index_html",
      entry: "site.zip",
      message: /Upload that zip instead/,
    });
  });
});

describe("headers that disagree or overlap", () => {
  const page = "<h1>hi</h1>";

  it("refuses an entry named index.html in the directory and ../evil.html in its own header", async () => {
    const zip = craftZip([{ name: "index.html", data: page, local: { name: "../evil.html" } }]);
    await expectRefused(zip, { status: 422, code: "zip_header_mismatch", entry: "index.html", message: /"\.\.\/evil\.html"/ });
  });

  it("refuses a NUL byte that only the local header has", async () => {
    const zip = craftZip([
      { name: "index.html", data: page },
      { name: "ok.html_.php", data: "x", local: { name: "ok.html\u0000.php" } },
    ]);
    await expectRefused(zip, { status: 422, code: "zip_header_mismatch", entry: "ok.html_.php", message: /\\u0000/ });
  });

  it("refuses a header hidden inside the previous entry's local extra field", async () => {
    const zip = craftZip([
      { name: "index.html", data: page, hideNextInExtra: true },
      { name: "hidden.html", data: "<script>steal()</script>" },
    ]);
    await expectRefused(zip, { status: 422, code: "overlapping_entries", entry: "hidden.html" });
  });

  it("refuses two entries that share data through a local extra field", async () => {
    const zip = craftZip([
      { name: "index.html", data: page },
      { name: "shared-a.html", data: "", shareNextData: true },
      { name: "shared-b.html", data: "same bytes!!" },
    ]);
    await expectRefused(zip, { status: 422, code: "overlapping_entries", entry: "shared-b.html" });
  });

  it("refuses a compression method that differs between the headers", async () => {
    const zip = craftZip([
      { name: "index.html", data: page },
      { name: "app.js", data: "x".repeat(40), local: { method: 8 } },
    ]);
    await expectRefused(zip, { status: 422, code: "zip_header_mismatch", entry: "app.js", message: /compression method 8/ });
  });

  it("refuses an encryption flag that only the local header sets", async () => {
    const zip = craftZip([
      { name: "index.html", data: page },
      { name: "a.css", data: "a{}", local: { flags: 0x1 } },
    ]);
    await expectRefused(zip, { status: 422, code: "zip_header_mismatch", entry: "a.css", message: /flags/ });
  });

  it("refuses a UTF-8 flag that only the central record sets (the name would mean two things)", async () => {
    const zip = craftZip([
      { name: "index.html", data: page },
      { name: "caf\u00e9.html", data: "x", flags: 0x800, local: { flags: 0 } },
    ]);
    await expectRefused(zip, { status: 422, code: "zip_header_mismatch", message: /flags/ });
  });

  it("refuses a CRC in the directory that contradicts the local header", async () => {
    const zip = await buildZip([INDEX, { name: "style.css", data: "body{color:red}\n".repeat(100) }]);
    await expectRefused(patchEntry(zip, "style.css", { crc32: 0xdeadbeef, centralOnly: true }), {
      status: 422,
      code: "zip_header_mismatch",
      entry: "style.css",
      message: /checksum/,
    });
  });

  it("refuses sizes in the directory that contradict the local header", async () => {
    const zip = await buildZip([INDEX, { name: "liar.html", data: Buffer.alloc(64 * 1024, 0x20) }]);
    await expectRefused(patchEntry(zip, "liar.html", { uncompressedSize: 1000, centralOnly: true }), {
      status: 422,
      code: "zip_header_mismatch",
      entry: "liar.html",
      message: /sizes/,
    });
  });

  it("refuses a local ZIP64 field whose sizes contradict the directory", async () => {
    const zip = craftZip([{ name: "index.html", data: page, local: { zip64: true, uncompressedSize: 5 } }]);
    await expectRefused(zip, { status: 422, code: "zip_header_mismatch", entry: "index.html", message: /sizes/ });
  });

  it("refuses a directory that points where no local header is", async () => {
    const zip = await buildZip([INDEX, { name: "a.html", data: "a".repeat(100) }]);
    const broken = Buffer.from(zip);
    broken.writeUInt32LE(0x11111111, dataOffset(zip, "a.html") - 30 - "a.html".length);
    await expectRefused(broken, { status: 422, code: "corrupt", entry: "a.html", message: /no file header/ });
  });
});
