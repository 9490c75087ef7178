import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import yauzl from "yauzl";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsArtifactStore } from "@/lib/artifacts/fs-store";
import { DEFAULT_UPLOAD_LIMITS } from "@/lib/uploads/limits";
import { processUpload } from "@/lib/uploads/process";
import { extractWith, listFiles, makeTmp, noise } from "@/lib/uploads/test-support";
import { folderFiles } from "./folder-files";
import { zipFolder, type ZipProgress } from "./zip-folder";

let work: { dir: string; cleanup(): Promise<void> };

beforeEach(async () => {
  work = await makeTmp("zip-folder");
});
afterEach(async () => {
  await work.cleanup();
});

const HTML = "<!doctype html><title>Folder</title><h1>Hello from a folder</h1>\n".repeat(200);
const PNG = noise(300_000, 7);

function picked(): { relativePath: string; file: Blob }[] {
  return [
    { relativePath: "dist/index.html", file: new Blob([HTML]) },
    { relativePath: "dist/img/logo.png", file: new Blob([new Uint8Array(PNG)]) },
    { relativePath: "dist/empty.txt", file: new Blob([]) },
    { relativePath: "dist/café/menü.html", file: new Blob(["<p>ü</p>"]) },
    { relativePath: "dist/.git/config", file: new Blob(["[core]"]) },
    { relativePath: "dist/node_modules/x/index.js", file: new Blob(["x"]) },
  ];
}

async function zipOf(progress: ZipProgress[] = []): Promise<Buffer> {
  const blob = await zipFolder(folderFiles(picked()).files, (p) => progress.push({ ...p }));
  return Buffer.from(await blob.arrayBuffer());
}

function entries(zip: Buffer): Promise<{ name: string; method: number }[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, file) => {
      if (error) return reject(error);
      const found: { name: string; method: number }[] = [];
      file.on("entry", (entry: yauzl.Entry) => {
        found.push({ name: entry.fileName, method: entry.compressionMethod });
        file.readEntry();
      });
      file.on("end", () => resolve(found));
      file.on("error", reject);
      file.readEntry();
    });
  });
}

describe("zipFolder", () => {
  it("makes a zip the server's pipeline accepts, with the folder's content at the top", async () => {
    const zip = await zipOf();
    await writeFile(path.join(work.dir, "site.zip"), zip);
    const tmp = path.join(work.dir, "tmp");
    await mkdir(tmp);
    const store = new FsArtifactStore(path.join(work.dir, "store"));
    const result = await processUpload(path.join(work.dir, "site.zip"), DEFAULT_UPLOAD_LIMITS, store, { tmpDir: tmp });
    expect(result.fileCount).toBe(4);
    const into = path.join(work.dir, "extracted");
    await mkdir(into);
    await extractWith("tar", store.pathOf(result.digest), into);
    // The pipeline adds precompressed siblings of text files; they are not the folder's.
    const served = (await listFiles(into)).filter((name) => !name.endsWith(".gz")).sort();
    expect(served).toEqual(["café/menü.html", "empty.txt", "img/logo.png", "index.html"]);
    expect(await readFile(path.join(into, "index.html"), "utf8")).toBe(HTML);
    expect(Buffer.compare(await readFile(path.join(into, "img/logo.png")), PNG)).toBe(0);
  });

  it("deflates text and stores formats that are compressed already", async () => {
    const zip = await zipOf();
    const methods = Object.fromEntries((await entries(zip)).map((e) => [e.name, e.method]));
    expect(methods).toEqual({ "café/menü.html": 8, "empty.txt": 8, "img/logo.png": 0, "index.html": 8 });
    expect(zip.length).toBeLessThan(HTML.length + PNG.length);
  });

  it("reports progress as the files are read, ending at the total", async () => {
    const progress: ZipProgress[] = [];
    await zipOf(progress);
    const total = HTML.length + PNG.length + Buffer.byteLength("<p>ü</p>");
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.every((p) => p.total === total)).toBe(true);
    const reads = progress.map((p) => p.read);
    expect(reads).toEqual([...reads].sort((a, b) => a - b));
    expect(reads.some((read) => read > 0 && read < total)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ read: total });
  });

  it("zips the same folder to the same bytes", async () => {
    expect(Buffer.compare(await zipOf(), await zipOf())).toBe(0);
  });

  it("stops when aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(zipFolder(folderFiles(picked()).files, () => undefined, controller.signal)).rejects.toThrow();
  });
});
