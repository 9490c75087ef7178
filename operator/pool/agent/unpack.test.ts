import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { ArtifactInvalidError, entryPath, unpackTarball } from "./unpack";
import { tarball, type TarEntry } from "./test-support";

describe("entryPath", () => {
  it("keeps relative names, dropping ./ and empty segments", () => {
    expect(entryPath("./index.html")).toBe("index.html");
    expect(entryPath("a//b/./c.txt")).toBe("a/b/c.txt");
    expect(entryPath("./")).toBe("");
    expect(entryPath("dir/")).toBe("dir");
  });

  it.each(["../etc/passwd", "a/../../b", "a/..", "..", "/etc/passwd", "/", "a\0b"])("refuses %j", (name) => {
    expect(() => entryPath(name)).toThrow(ArtifactInvalidError);
  });
});

describe("unpackTarball", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-unpack-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function unpack(entries: readonly TarEntry[] | Buffer, limits?: { maxBytes: number; maxEntries: number }) {
    const file = path.join(dir, "a.tgz");
    await writeFile(file, Buffer.isBuffer(entries) ? entries : await tarball(entries));
    return unpackTarball(file, path.join(dir, "site"), limits);
  }

  async function leftovers(): Promise<string[]> {
    return (await readdir(dir)).filter((n) => n !== "a.tgz");
  }

  it("unpacks files and directories with fixed modes", async () => {
    const done = await unpack([
      { name: "./", type: "directory" },
      { name: "./index.html", content: "<h1>hi</h1>" },
      { name: "./deep/er/page.html", content: "deep" },
      { name: "./empty", type: "directory" },
    ]);
    expect(done).toEqual({ entries: 4, bytes: 15 });
    expect(await readFile(path.join(dir, "site/index.html"), "utf8")).toBe("<h1>hi</h1>");
    expect(await readFile(path.join(dir, "site/deep/er/page.html"), "utf8")).toBe("deep");
    expect((await stat(path.join(dir, "site/empty"))).isDirectory()).toBe(true);
    expect((await stat(path.join(dir, "site/index.html"))).mode & 0o777).toBe(0o644);
    expect(await leftovers()).toEqual(["site"]);
  });

  const hostile: [string, TarEntry[], RegExp][] = [
    ["a .. name", [{ name: "index.html" }, { name: "../escape.html", content: "x" }], /climbs out/],
    ["a nested .. name", [{ name: "a/b/../../../escape.html", content: "x" }], /climbs out/],
    ["an absolute name", [{ name: "/etc/cron.d/x", content: "x" }], /absolute/],
    ["a symbolic link", [{ name: "passwd", type: "symlink", linkname: "/etc/passwd" }], /symlink/],
    [
      "a link then a file through it",
      [
        { name: "d", type: "symlink", linkname: "/tmp" },
        { name: "d/x", content: "x" },
      ],
      /symlink/,
    ],
    [
      "a hard link",
      [
        { name: "index.html", content: "x" },
        { name: "copy", type: "link", linkname: "index.html" },
      ],
      /link/,
    ],
    ["a device", [{ name: "null", type: "character-device" }], /character-device/],
    ["a fifo", [{ name: "pipe", type: "fifo" }], /fifo/],
    [
      "a name twice",
      [
        { name: "index.html", content: "a" },
        { name: "./index.html", content: "b" },
      ],
      /collides/,
    ],
    [
      "a file where a directory is",
      [
        { name: "a/b.html", content: "a" },
        { name: "a", content: "b" },
      ],
      /collides/,
    ],
    [
      "a file inside a file",
      [
        { name: "a", content: "a" },
        { name: "a/b.html", content: "b" },
      ],
      /collides/,
    ],
  ];

  it.each(hostile)("refuses %s, leaving nothing", async (_, entries, message) => {
    const failure = unpack(entries);
    await expect(failure).rejects.toThrow(ArtifactInvalidError);
    await expect(failure).rejects.toThrow(message);
    expect(await leftovers()).toEqual([]);
  });

  it("refuses bytes that are not a gzip-compressed tar, leaving nothing", async () => {
    await expect(unpack(Buffer.from("not gzip at all"))).rejects.toThrow(/not a valid gzip-compressed tar archive/);
    await expect(unpack(gzipSync(Buffer.alloc(700, 7)))).rejects.toThrow(ArtifactInvalidError);
    expect(await leftovers()).toEqual([]);
  });

  it("refuses more bytes or entries than the limits", async () => {
    const entries = [
      { name: "a.html", content: "12345" },
      { name: "b.html", content: "67890" },
    ];
    await expect(unpack(entries, { maxBytes: 9, maxEntries: 10 })).rejects.toThrow(/more than 9 bytes/);
    await expect(unpack(entries, { maxBytes: 100, maxEntries: 1 })).rejects.toThrow(/more than 1 entries/);
    expect(await leftovers()).toEqual([]);
  });
});
