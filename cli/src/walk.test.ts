import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inspectZip } from "../../lib/uploads/inspect";
import { DEFAULT_UPLOAD_LIMITS } from "../../lib/uploads/limits";
import { buildZip } from "../../lib/uploads/test-support";
import { openZip } from "../../lib/uploads/zip-archive";
import { CliError } from "./errors";
import { walkFolder } from "./walk";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-walk-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(rel: string, data = "x"): Promise<void> {
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await writeFile(path.join(dir, rel), data);
}

async function refusalOf(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}

/** What the server answers for a zip holding one entry of this Unix type. */
async function serverRefusal(name: string, mode: number): Promise<{ code: string; message: string }> {
  const zipDir = await mkdtemp(path.join(os.tmpdir(), "pagoda-walk-zip-"));
  try {
    const file = path.join(zipDir, "site.zip");
    await writeFile(
      file,
      await buildZip([
        { name: "index.html", data: "<h1>hi</h1>" },
        { name, data: "target", mode },
      ]),
    );
    const opened = await openZip(file);
    try {
      const error = await inspectZip(opened.zip, DEFAULT_UPLOAD_LIMITS, 1000).then(
        () => null,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(error).not.toBeNull();
      return { code: error!.code, message: error!.message };
    } finally {
      await opened.close();
    }
  } finally {
    await rm(zipDir, { recursive: true, force: true });
  }
}

describe("walkFolder", () => {
  it("lists files sorted by name with their sizes, whatever order the disk gives", async () => {
    await put("index.html", "<h1>hi</h1>");
    await put("b/z.css", "z{}");
    await put("a.js", "1");
    await put("b/a.css", "a{}");
    const walked = await walkFolder(dir);
    expect(walked.files.map((f) => f.path)).toEqual(["a.js", "b/a.css", "b/z.css", "index.html"]);
    expect(walked.totalBytes).toBe(1 + 3 + 3 + 11);
  });

  it("leaves out .git and node_modules unless asked, and what the server drops as junk", async () => {
    await put("index.html");
    await put(".git/config");
    await put("node_modules/pkg/index.js");
    await put("assets/.DS_Store");
    await put("__MACOSX/._index.html");
    expect((await walkFolder(dir)).files.map((f) => f.path)).toEqual(["index.html"]);
    expect((await walkFolder(dir, { includeAll: true })).files.map((f) => f.path)).toEqual(["index.html", "node_modules/pkg/index.js"]);
  });

  it("honours .pagodaignore (gitignore syntax) and does not upload it", async () => {
    await put("index.html");
    await put("drafts/post.html");
    await put("notes.md");
    await put("keep.md");
    await put(".pagodaignore", "drafts/\n*.md\n!keep.md\n");
    expect((await walkFolder(dir)).files.map((f) => f.path)).toEqual(["index.html", "keep.md"]);
  });

  it("does not look inside an ignored folder, so a link there is no reason to refuse", async () => {
    await put("index.html");
    await mkdir(path.join(dir, "node_modules/.bin"), { recursive: true });
    await symlink("../pkg/cli.js", path.join(dir, "node_modules/.bin/cli"));
    expect((await walkFolder(dir)).files.map((f) => f.path)).toEqual(["index.html"]);
  });

  it("refuses a symbolic link with the server's code and words", async () => {
    await put("index.html");
    await symlink("/etc/passwd", path.join(dir, "passwd"));
    const error = await refusalOf(walkFolder(dir));
    expect({ code: error.code, entry: error.entry }).toEqual({ code: "symlink", entry: "passwd" });
    expect({ code: error.code, message: error.message }).toEqual(await serverRefusal("passwd", 0o120777));
  });

  it("refuses a link that escapes the folder even when it points to a folder", async () => {
    await put("index.html");
    await symlink("../../..", path.join(dir, "up"));
    const error = await refusalOf(walkFolder(dir));
    expect({ code: error.code, entry: error.entry }).toEqual({ code: "symlink", entry: "up" });
  });

  it("refuses a FIFO and a socket as special files, with the server's words", async () => {
    await put("index.html");
    await promisify(execFile)("mkfifo", [path.join(dir, "pipe")]);
    const fifo = await refusalOf(walkFolder(dir));
    expect({ code: fifo.code, entry: fifo.entry }).toEqual({ code: "special_file", entry: "pipe" });
    expect({ code: fifo.code, message: fifo.message }).toEqual(await serverRefusal("pipe", 0o010644));
    await rm(path.join(dir, "pipe"));

    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, "sock"), resolve));
    try {
      const socket = await refusalOf(walkFolder(dir));
      expect({ code: socket.code, entry: socket.entry }).toEqual({ code: "special_file", entry: "sock" });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("refuses a name the server cannot publish with the server's words (a backslash)", async () => {
    await put("index.html");
    await put("a\\b.html");
    const error = await refusalOf(walkFolder(dir));
    expect(error.code).toBe("backslash");
    expect(error.message).toContain('"a\\\\b.html"');
  });

  it("says so when there is nothing to deploy", async () => {
    await put(".git/HEAD");
    const error = await refusalOf(walkFolder(dir));
    expect(error.code).toBe("empty_folder");
    await expect(walkFolder(path.join(dir, "missing"))).rejects.toThrow(/does not exist/);
  });
});
