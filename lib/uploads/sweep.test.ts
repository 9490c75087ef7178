import { mkdir, readdir, symlink, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { receiveToTempFile } from "./receive";
import { sweepStaleTempDirs } from "./sweep";
import { makeTempDir } from "./temp";
import { buildZip, makeTmp } from "./test-support";

let work: { dir: string; cleanup(): Promise<void> };
const HOUR = 3600_000;
const now = Date.now();

beforeEach(async () => {
  work = await makeTmp("sweep");
});
afterEach(async () => {
  await work.cleanup();
});

async function leftover(name: string, ageMs: number, files: Record<string, number> = {}): Promise<string> {
  const dir = path.join(work.dir, name);
  await mkdir(dir);
  for (const [file, fileAge] of Object.entries(files)) {
    await writeFile(path.join(dir, file), "x");
    await utimes(path.join(dir, file), (now - fileAge) / 1000, (now - fileAge) / 1000);
  }
  await utimes(dir, (now - ageMs) / 1000, (now - ageMs) / 1000);
  return dir;
}

describe("sweepStaleTempDirs", () => {
  it("removes only our directories, and only those untouched for longer than the longest upload", async () => {
    const stale = await leftover("pagoda-upload-Ab12cD", 3 * HOUR, { "upload.zip": 3 * HOUR });
    const staleScratch = await leftover("pagoda-normalize-zz9ZZ9", 2 * HOUR);
    await leftover("pagoda-upload-young1", 10 * 60_000, { "upload.zip": 10 * 60_000 });
    // An old directory whose file is still being written belongs to a live upload.
    await leftover("pagoda-upload-live01", 3 * HOUR, { "upload.zip": 1000 });
    await leftover("pagoda-uploads-backup", 3 * HOUR);
    await leftover("pagoda-upload-toolongname", 3 * HOUR);
    await leftover("pagoda-test-upload-abcdef", 3 * HOUR);
    await leftover("someone-elses", 3 * HOUR);
    await writeFile(path.join(work.dir, "pagoda-upload-afile1"), "not a directory");
    await symlink(stale, path.join(work.dir, "pagoda-upload-link01"));

    const result = await sweepStaleTempDirs({ parent: work.dir, olderThanMs: HOUR + 4 * 60_000, now });
    expect(result.removed.sort()).toEqual([staleScratch, stale].sort());
    expect(result.kept).toBe(2);
    expect((await readdir(work.dir)).sort()).toEqual(
      [
        "pagoda-test-upload-abcdef",
        "pagoda-upload-afile1",
        "pagoda-upload-link01",
        "pagoda-upload-live01",
        "pagoda-upload-toolongname",
        "pagoda-upload-young1",
        "pagoda-uploads-backup",
        "someone-elses",
      ].sort(),
    );
  });

  it("recognises the directories the pipeline really makes", async () => {
    const received = await receiveToTempFile(new Blob([new Uint8Array(await buildZip([{ name: "index.html", data: "x" }]))]).stream(), {
      maxBytes: 1e6,
      tmpDir: work.dir,
    });
    // processUpload's scratch dir lives only while it runs; this is how it is made.
    const scratch = await makeTempDir("pagoda-normalize", work.dir);
    const result = await sweepStaleTempDirs({ parent: work.dir, olderThanMs: 1, now: Date.now() + 1000 });
    expect(result.removed.sort()).toEqual([path.dirname(received.path), scratch.path].sort());
    expect(await readdir(work.dir)).toEqual([]);
  });
});
