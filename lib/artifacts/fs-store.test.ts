import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { text } from "node:stream/consumers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Digest } from "./digest";
import { FsArtifactStore } from "./fs-store";
import { createArtifactStore } from "./index";
import { DigestMismatchError } from "./store";

let dir: string;
let store: FsArtifactStore;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-test-fsstore-"));
  store = new FsArtifactStore(path.join(dir, "store"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tempFile(content: string): Promise<{ file: string; digest: Digest }> {
  const file = path.join(dir, `in-${createHash("sha1").update(content).digest("hex")}`);
  await writeFile(file, content);
  return { file, digest: `sha256:${createHash("sha256").update(content).digest("hex")}` };
}

async function allFiles(): Promise<string[]> {
  const entries = await readdir(path.join(dir, "store"), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(path.join(dir, "store"), path.join(e.parentPath, e.name)));
}

async function listAll<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("FsArtifactStore", () => {
  it("stores content-addressed, reads back, and deletes", async () => {
    const { file, digest } = await tempFile("artifact bytes");
    expect(await store.has(digest)).toBe(false);
    expect(await store.stat(digest)).toBeNull();
    expect(await store.open(digest)).toBeNull();

    expect(await store.putFile(digest, file)).toEqual({ alreadyStored: false });
    const hex = digest.slice("sha256:".length);
    expect(await allFiles()).toEqual([path.join("sha256", hex.slice(0, 2), `${hex}.tar.gz`)]);
    expect(await store.has(digest)).toBe(true);
    expect(await store.stat(digest)).toEqual({ size: 14 });
    const opened = await store.open(digest);
    expect(opened?.size).toBe(14);
    expect(await text(opened!.stream)).toBe("artifact bytes");
    // The caller's temp file is left alone.
    expect(await readFile(file, "utf8")).toBe("artifact bytes");

    expect(await store.putFile(digest, file)).toEqual({ alreadyStored: true });
    await store.delete(digest);
    await store.delete(digest);
    expect(await store.has(digest)).toBe(false);
  });

  it("refuses bytes that do not match the digest and leaves nothing behind", async () => {
    const { file } = await tempFile("real content");
    const { digest: other } = await tempFile("other content");
    const err = await store.putFile(other, file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(await store.has(other)).toBe(false);
    expect(await allFiles()).toEqual([]);
  });

  it("stores concurrent puts of one digest exactly once", async () => {
    const { file, digest } = await tempFile("same ".repeat(100_000));
    const results = await Promise.all(Array.from({ length: 12 }, () => store.putFile(digest, file)));
    expect(results.filter((r) => !r.alreadyStored)).toHaveLength(1);
    expect(await allFiles()).toHaveLength(1);
    expect(await store.stat(digest)).toEqual({ size: 500_000 });
  });

  it("lists what it stores, with sizes, and nothing else it finds under its root", async () => {
    expect(await listAll(store.list())).toEqual([]);
    const a = await tempFile("first artifact");
    const b = await tempFile("second, longer artifact");
    await store.putFile(a.digest, a.file);
    await store.putFile(b.digest, b.file);
    const fan = path.join(dir, "store", "sha256", a.digest.slice(7, 9));
    await writeFile(path.join(fan, ".incoming-0123456789abcdef"), "half written");
    await writeFile(path.join(fan, `${"f".repeat(64)}.tar.gz`), "in the wrong folder");
    await mkdir(path.join(dir, "store", "sha256", "zz"), { recursive: true });
    await writeFile(path.join(dir, "store", "sha256", "zz", "notes.txt"), "x");
    const listed = await listAll(store.list());
    expect(listed.sort((x, y) => x.digest.localeCompare(y.digest))).toEqual(
      [
        { digest: a.digest, size: 14 },
        { digest: b.digest, size: 23 },
      ].sort((x, y) => x.digest.localeCompare(y.digest)),
    );
  });

  it("never turns a malformed digest into a path", async () => {
    for (const bad of ["sha256:../../etc/passwd", "sha256:ABC", "md5:d41d8cd98f00b204e9800998ecf8427e", `sha256:${"0".repeat(63)}/`]) {
      await expect(store.has(bad as Digest)).rejects.toThrow(TypeError);
    }
  });

  it("is what createArtifactStore builds for the fs driver", async () => {
    const built = createArtifactStore({ driver: "fs", root: path.join(dir, "store") });
    expect(built).toBeInstanceOf(FsArtifactStore);
    const { file, digest } = await tempFile("via factory");
    await built.putFile(digest, file);
    expect(await store.has(digest)).toBe(true);
    expect(() => createArtifactStore({ driver: "s3" } as never)).toThrow();
  });
});
