import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import yauzl from "yauzl";
import { buildZip } from "../../lib/uploads/test-support";
import { CliError } from "./errors";
import { walkFolder } from "./walk";
import { checkZipEntries, zipStream } from "./zip";
import type { WalkedFile } from "./walk";

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "pagoda-zip-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function makeSite(dir: string, order: string[]): Promise<void> {
  const content: Record<string, string> = {
    "index.html": "<h1>hi</h1>",
    "assets/app.js": "console.log(1);\n".repeat(200),
    "assets/logo.png": "\x89PNG not really",
    "nested/deep/page.html": "<p>deep</p>",
  };
  for (const rel of order) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content[rel]!);
  }
}

/** The zip of `files` as `pagoda deploy` streams it into the upload. */
async function zipBytes(files: readonly WalkedFile[]): Promise<Buffer> {
  const { output, done } = zipStream(files);
  const chunks: Buffer[] = [];
  const read = (async () => {
    for await (const chunk of output) chunks.push(chunk as Buffer);
  })();
  await Promise.all([read, done]);
  return Buffer.concat(chunks);
}

async function zipDigest(dir: string): Promise<{ digest: string; bytes: Buffer }> {
  const bytes = await zipBytes((await walkFolder(dir)).files);
  return { digest: createHash("sha256").update(bytes).digest("hex"), bytes };
}

function entries(zip: Buffer): Promise<{ name: string; mode: number; time: string; text: string }[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, z) => {
      if (err) return reject(err);
      const out: { name: string; mode: number; time: string; text: string }[] = [];
      z.on("entry", (entry: yauzl.Entry) => {
        z.openReadStream(entry, async (e, stream) => {
          if (e) return reject(e);
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          out.push({
            name: entry.fileName,
            mode: entry.externalFileAttributes >>> 16,
            time: `${entry.lastModFileDate}/${entry.lastModFileTime}`,
            text: Buffer.concat(chunks).toString(),
          });
          z.readEntry();
        });
      });
      z.on("end", () => resolve(out));
      z.readEntry();
    });
  });
}

describe("zipStream", () => {
  it("gives the same bytes for the same folder, whatever the files' times, modes and creation order", async () => {
    const a = path.join(root, "a");
    const b = path.join(root, "b");
    await makeSite(a, ["index.html", "assets/app.js", "assets/logo.png", "nested/deep/page.html"]);
    await makeSite(b, ["nested/deep/page.html", "assets/logo.png", "index.html", "assets/app.js"]);
    await utimes(path.join(b, "index.html"), new Date("2001-02-03"), new Date("2001-02-03"));
    await chmod(path.join(b, "assets/app.js"), 0o755);
    const first = await zipDigest(a);
    expect((await zipDigest(b)).digest).toBe(first.digest);
    expect((await zipDigest(a)).digest).toBe(first.digest);

    const listed = await entries(first.bytes);
    expect(listed.map((e) => e.name)).toEqual(["assets/app.js", "assets/logo.png", "index.html", "nested/deep/page.html"]);
    expect(new Set(listed.map((e) => e.mode))).toEqual(new Set([0o100644]));
    expect(new Set(listed.map((e) => e.time)).size).toBe(1);
    expect(listed.find((e) => e.name === "index.html")?.text).toBe("<h1>hi</h1>");
  });

  it("keeps every file's own bytes while deflated files share one read buffer and the output is read slowly", async () => {
    const expected = new Map<string, string>();
    for (let i = 0; i < 60; i += 1) {
      // Sizes up and down, so a shorter file read after a longer one would show the longer one's tail.
      const text = `file ${i}: ${"abcdefghij".slice(0, i % 10)}`.repeat(1 + ((i * 37) % 400));
      const name = i % 7 === 0 ? `img/picture-${i}.png` : `pages/page-${i}.html`;
      expected.set(name, text);
    }
    for (const [name, text] of expected) {
      await mkdir(path.dirname(path.join(root, name)), { recursive: true });
      await writeFile(path.join(root, name), text);
    }
    const { output, done } = zipStream((await walkFolder(root)).files);
    const chunks: Buffer[] = [];
    const read = (async () => {
      for await (const chunk of output) {
        chunks.push(Buffer.from(chunk as Buffer));
        // A slow reader: the writer gets ahead of it and the next files are read meanwhile.
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all([read, done]);
    const listed = await entries(Buffer.concat(chunks));
    expect(new Map(listed.map((e) => [e.name, e.text]))).toEqual(expected);
  });

  it("refuses a file that was swapped for a link after the listing, instead of following it", async () => {
    await makeSite(root, ["index.html", "assets/app.js"]);
    const walked = await walkFolder(root);
    await rm(path.join(root, "assets/app.js"));
    await symlink("/etc/passwd", path.join(root, "assets/app.js"));
    const error = await zipBytes(walked.files).then(
      () => null,
      (e: unknown) => e as CliError,
    );
    expect(error).toBeInstanceOf(CliError);
    expect({ code: error?.code, entry: error?.entry }).toEqual({ code: "symlink", entry: "assets/app.js" });
  });
});

describe("checkZipEntries", () => {
  async function check(zip: Buffer): Promise<CliError | null> {
    const file = path.join(root, "site.zip");
    await writeFile(file, zip);
    return checkZipEntries(file).then(
      () => null,
      (e: unknown) => e as CliError,
    );
  }

  it("passes an honest zip", async () => {
    expect(await check(await buildZip([{ name: "index.html", data: "<h1>hi</h1>" }]))).toBeNull();
  });

  it("refuses an entry that escapes the site with the server's words", async () => {
    const error = await check(
      await buildZip([
        { name: "index.html", data: "x" },
        { name: "../escape.html", data: "x" },
      ]).catch(async () => {
        // yazl refuses to write "..": patch a same-length name instead.
        const zip = await buildZip([
          { name: "index.html", data: "x" },
          { name: "zz/escape.html", data: "x" },
        ]);
        return Buffer.from(zip.toString("latin1").replaceAll("zz/escape.html", "../escape.html"), "latin1");
      }),
    );
    expect(error).toBeInstanceOf(CliError);
    expect({ code: error!.code, entry: error!.entry }).toEqual({ code: "path_traversal", entry: "../escape.html" });
    expect(error!.message).toBe('The entry "../escape.html" uses ".." to point outside the site folder, which is not allowed.');
  });

  it("refuses a symbolic link entry", async () => {
    const error = await check(
      await buildZip([
        { name: "index.html", data: "x" },
        { name: "passwd", data: "/etc/passwd", mode: 0o120777 },
      ]),
    );
    expect({ code: error?.code, entry: error?.entry }).toEqual({ code: "symlink", entry: "passwd" });
  });

  it("leaves a damaged zip for the server to explain", async () => {
    expect(await check(Buffer.from("not a zip at all"))).toBeNull();
  });
});
