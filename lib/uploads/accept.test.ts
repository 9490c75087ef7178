import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import tar from "tar-stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsArtifactStore } from "@/lib/artifacts/fs-store";
import { DEFAULT_UPLOAD_LIMITS } from "./limits";
import { processUpload, type ProcessResult } from "./process";
import { buildZip, extractWith, listFiles, makeTmp, noise, writeZip, type ZipSpecEntry } from "./test-support";

let work: { dir: string; cleanup(): Promise<void> };
let tmp: string;
let store: FsArtifactStore;
let counter = 0;

beforeEach(async () => {
  work = await makeTmp("accept");
  tmp = path.join(work.dir, "tmp");
  await mkdir(tmp);
  store = new FsArtifactStore(path.join(work.dir, "store"));
});
afterEach(async () => {
  await work.cleanup();
});

async function upload(entries: readonly ZipSpecEntry[]): Promise<ProcessResult> {
  const zipPath = await writeZip(work.dir, `upload-${counter++}.zip`, await buildZip(entries));
  const result = await processUpload(zipPath, DEFAULT_UPLOAD_LIMITS, store, { tmpDir: tmp });
  expect(await readdir(tmp)).toEqual([]);
  return result;
}

async function extract(result: ProcessResult, tool: "tar" | "busybox" = "tar"): Promise<string> {
  const into = path.join(work.dir, `extract-${counter++}`);
  await mkdir(into);
  await extractWith(tool, store.pathOf(result.digest), into);
  return into;
}

async function tarHeaders(file: string): Promise<tar.Header[]> {
  const extract = tar.extract();
  createReadStream(file)
    .pipe(zlib.createGunzip())
    .pipe(extract as unknown as NodeJS.WritableStream);
  const headers: tar.Header[] = [];
  for await (const entry of extract) {
    headers.push(entry.header);
    entry.resume();
  }
  return headers;
}

const CSS = "body { margin: 0; font-family: system-ui, sans-serif; }\n".repeat(60);
const JS = "export function greet(name) { return `hello ${name}`; }\n".repeat(40);
const PNG = noise(5000, 42);

function site(prefix = "", mtime = new Date("2024-05-01T12:00:00Z"), compress = true): ZipSpecEntry[] {
  return [
    { name: `${prefix}index.html`, data: "<!doctype html><h1>Home</h1>", mtime, compress },
    { name: `${prefix}css/site.css`, data: CSS, mtime, compress },
    { name: `${prefix}js/app.js`, data: JS, mtime, compress },
    { name: `${prefix}img/logo.png`, data: PNG, mtime, compress },
  ];
}

describe("normalized archive", () => {
  it("strips one top-level folder, drops junk, and extracts to exactly the site", async () => {
    const result = await upload([
      ...site("dist/"),
      { name: "dist/.DS_Store", data: "junk" },
      { name: "__MACOSX/dist/._index.html", data: "junk" },
      { name: "dist/img/Thumbs.db", data: "junk" },
      { name: "dist/.git/config", data: "[core]" },
      { name: "dist/", dir: true },
    ]);
    expect(result).toMatchObject({ fileCount: 4, precompressedCount: 2, strippedPrefix: "dist", junkDropped: 4, alreadyStored: false });
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const dir = await extract(result);
    expect(await listFiles(dir)).toEqual(["css/site.css", "css/site.css.gz", "img/logo.png", "index.html", "js/app.js", "js/app.js.gz"]);
    expect(await readFile(path.join(dir, "css/site.css"), "utf8")).toBe(CSS);
    expect((await readFile(path.join(dir, "img/logo.png"))).equals(PNG)).toBe(true);
    expect(zlib.gunzipSync(await readFile(path.join(dir, "css/site.css.gz"))).toString()).toBe(CSS);
    expect(zlib.gunzipSync(await readFile(path.join(dir, "js/app.js.gz"))).toString()).toBe(JS);
  });

  it("writes fixed metadata in bytewise path order, with a platform-neutral gzip header", async () => {
    const result = await upload([...site(), { name: "Zeta.html", data: "z" }, { name: "a-b/x.txt", data: "x" }, { name: "a/y.txt", data: "y" }]);
    const file = store.pathOf(result.digest);
    const bytes = await readFile(file);
    expect([...bytes.subarray(0, 10)]).toEqual([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
    const { createHash } = await import("node:crypto");
    expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(result.digest);
    expect(result.sizeBytes).toBe(bytes.length);

    const headers = await tarHeaders(file);
    const names = headers.map((h) => h.name);
    expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(names).toEqual([
      "Zeta.html",
      "a-b/",
      "a-b/x.txt",
      "a/",
      "a/y.txt",
      "css/",
      "css/site.css",
      "css/site.css.gz",
      "img/",
      "img/logo.png",
      "index.html",
      "js/",
      "js/app.js",
      "js/app.js.gz",
    ]);
    for (const h of headers) {
      expect(h.mtime?.getTime()).toBe(0);
      expect([h.uid, h.gid, h.uname, h.gname]).toEqual([0, 0, "", ""]);
      expect(h.mode).toBe(h.type === "directory" ? 0o755 : 0o644);
      expect(["file", "directory"]).toContain(h.type);
    }
  });

  it("keeps precompressed siblings only where they help", async () => {
    const result = await upload([
      { name: "index.html", data: "<p>tiny</p>" },
      { name: "random.js", data: noise(4000, 7) },
      { name: "photo.jpg", data: Buffer.from(CSS) },
      { name: "own.css", data: CSS },
      { name: "own.css.gz", data: "the person's own gzip" },
      { name: "app.js", data: JS },
      { name: "APP.JS.GZ/readme.txt", data: "a folder where the sibling would go" },
      { name: "data.json", data: JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i })) }) },
    ]);
    const dir = await extract(result);
    expect(await listFiles(dir)).toEqual([
      "APP.JS.GZ/readme.txt",
      "app.js",
      "data.json",
      "data.json.gz",
      "index.html",
      "own.css",
      "own.css.gz",
      "photo.jpg",
      "random.js",
    ]);
    expect(await readFile(path.join(dir, "own.css.gz"), "utf8")).toBe("the person's own gzip");
    expect(result.precompressedCount).toBe(1);
  });

  it("handles unicode, spaces, nested folders, long paths and empty files; busybox tar agrees", async () => {
    const long = `${"deeply-nested-folder/".repeat(8)}page.html`;
    const entries: ZipSpecEntry[] = [
      { name: "index.html", data: "home" },
      { name: "über café/naïve file.html", data: "unicode" },
      { name: "日本語/ページ.html", data: "japanese" },
      { name: "a b/c d.css", data: "spaces" },
      { name: "nested/one/two/three/four.txt", data: "deep" },
      { name: long, data: "long" },
      { name: "./dot/slash.txt", data: "dot" },
      { name: "empty.txt", data: "" },
      { name: "downloads/archive.zip", data: await buildZip([{ name: "inner.txt", data: "kept as a file" }]) },
    ];
    const result = await upload(entries);
    const expected = [
      "a b/c d.css",
      "dot/slash.txt",
      "downloads/archive.zip",
      "empty.txt",
      "index.html",
      long,
      "nested/one/two/three/four.txt",
      "über café/naïve file.html",
      "日本語/ページ.html",
    ].sort();
    for (const tool of ["tar", "busybox"] as const) {
      const dir = await extract(result, tool);
      expect((await listFiles(dir)).map((f) => f.normalize("NFC"))).toEqual(expected);
      expect(await readFile(path.join(dir, "über café/naïve file.html"), "utf8")).toBe("unicode");
      expect(await readFile(path.join(dir, long), "utf8")).toBe("long");
      expect(await readFile(path.join(dir, "empty.txt"), "utf8")).toBe("");
    }
  });

  it("streams large files and their precompressed siblings", async () => {
    const bigJs = Buffer.from("export const table = [" + Array.from({ length: 200_000 }, (_, i) => i % 977).join(",") + "];\n");
    const bigBin = noise(1536 * 1024, 11);
    expect(bigJs.length).toBeGreaterThan(600 * 1024);
    const result = await upload([
      { name: "index.html", data: "home" },
      { name: "static/big.js", data: bigJs },
      { name: "static/big.bin", data: bigBin, compress: false },
    ]);
    expect(result).toMatchObject({ fileCount: 3, precompressedCount: 1, uncompressedBytes: 4 + bigJs.length + bigBin.length });
    const dir = await extract(result);
    expect(await listFiles(dir)).toEqual(["index.html", "static/big.bin", "static/big.js", "static/big.js.gz"]);
    expect((await readFile(path.join(dir, "static/big.js"))).equals(bigJs)).toBe(true);
    expect((await readFile(path.join(dir, "static/big.bin"))).equals(bigBin)).toBe(true);
    expect(zlib.gunzipSync(await readFile(path.join(dir, "static/big.js.gz"))).equals(bigJs)).toBe(true);
  });

  it("publishes ten thousand files", async () => {
    const entries: ZipSpecEntry[] = [{ name: "index.html", data: "home" }];
    for (let i = 0; i < 10_000; i++) entries.push({ name: `pages/${i % 100}/p${i}.html`, data: `<p>${i}</p>`, compress: i % 50 === 0 });
    const result = await upload(entries);
    expect(result.fileCount).toBe(10_001);
    const dir = await extract(result);
    const files = await listFiles(dir);
    expect(files.length).toBe(10_001);
    expect(await readFile(path.join(dir, "pages/42/p9942.html"), "utf8")).toBe("<p>9942</p>");
  }, 60_000);
});

describe("digest stability", () => {
  it("does not depend on entry order, timestamps, compression method, junk, wrapping folder or Unicode form", async () => {
    const base = await upload(site());
    const reordered = await upload([...site(undefined, new Date("2001-02-03T04:05:06Z"), false)].reverse());
    const wrapped = await upload([...site("my-site/"), { name: "my-site/.DS_Store", data: "x" }, { name: "__MACOSX/my-site/._css", data: "x" }]);
    expect(reordered.digest).toBe(base.digest);
    expect(wrapped.digest).toBe(base.digest);
    expect(reordered.alreadyStored && wrapped.alreadyStored).toBe(true);

    const nfc = await upload([...site(), { name: "caf\u00e9.html", data: "x" }]);
    const nfd = await upload([...site(), { name: "cafe\u0301.html", data: "x" }]);
    expect(nfd.digest).toBe(nfc.digest);
    expect(nfc.digest).not.toBe(base.digest);

    const again = await upload(site());
    expect(again).toMatchObject({ digest: base.digest, alreadyStored: true });
    expect(await listFiles(path.join(work.dir, "store"))).toHaveLength(2);
  });

  it("changes with content, name or location of any file", async () => {
    const base = await upload(site());
    const changedByte = await upload([
      ...site().slice(0, 3),
      { name: "img/logo.png", data: Buffer.concat([PNG.subarray(0, 4999), Buffer.from([PNG[4999]! ^ 1])]) },
    ]);
    const renamed = await upload([...site().slice(0, 3), { name: "img/logo2.png", data: PNG }]);
    const moved = await upload([...site().slice(0, 3), { name: "logo.png", data: PNG }]);
    expect(new Set([base.digest, changedByte.digest, renamed.digest, moved.digest]).size).toBe(4);
  });
});

describe("concurrency", () => {
  it("processes ten different uploads into one store at once", async () => {
    const zips = await Promise.all(
      Array.from({ length: 10 }, async (_, i) =>
        writeZip(work.dir, `c${i}.zip`, await buildZip([...site(i % 2 ? "out/" : ""), { name: `${i % 2 ? "out/" : ""}only-${i}.txt`, data: `site ${i}` }])),
      ),
    );
    const results = await Promise.all(zips.map((z) => processUpload(z, DEFAULT_UPLOAD_LIMITS, store, { tmpDir: tmp })));
    expect(new Set(results.map((r) => r.digest)).size).toBe(10);
    for (const r of results) {
      expect(r.alreadyStored).toBe(false);
      expect(await store.stat(r.digest)).toEqual({ size: r.sizeBytes });
    }
    expect(await readdir(tmp)).toEqual([]);
  });

  it("stores identical concurrent uploads exactly once", async () => {
    const zip = await writeZip(work.dir, "same.zip", await buildZip(site()));
    const results = await Promise.all(Array.from({ length: 6 }, () => processUpload(zip, DEFAULT_UPLOAD_LIMITS, store, { tmpDir: tmp })));
    expect(new Set(results.map((r) => r.digest)).size).toBe(1);
    expect(results.filter((r) => !r.alreadyStored)).toHaveLength(1);
    expect(await listFiles(path.join(work.dir, "store"))).toHaveLength(1);
  });
});
