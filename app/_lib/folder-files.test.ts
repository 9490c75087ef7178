import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { walkFolder } from "@/cli/src/walk";
import { parseIgnoreRules } from "@/lib/uploads/ignore-file";
import { folderFiles, folderName, isCompressedFormat, isLeftOutFolder, keepInDeploy, pickedFolderFiles } from "./folder-files";

describe("keepInDeploy", () => {
  it.each([
    "packages/a/node_modules/b/index.js",
    "index.html",
    "assets/app.js",
    "docs/.well-known/security.txt",
    "gitlab/x.html",
    "my.git/x",
    "node_modules.html",
    ".github/notes.txt",
  ])("keeps %s", (path) => {
    expect(keepInDeploy(path)).toBe(true);
  });

  it.each([
    ".git/config",
    "sub/.git/HEAD",
    "node_modules/react/index.js",
    ".DS_Store",
    "assets/.DS_Store",
    "Thumbs.db",
    "__MACOSX/._index.html",
    "._index.html",
    ".svn/entries",
    "",
  ])("leaves out %s", (path) => {
    expect(keepInDeploy(path)).toBe(false);
  });

  it("leaves out node_modules at the top only, as the CLI does; .git wherever it is, as the server does", () => {
    expect(keepInDeploy("node_modules/a.js")).toBe(false);
    expect(keepInDeploy("vendor/node_modules/a.js")).toBe(true);
    expect(keepInDeploy("vendor/.git/HEAD")).toBe(false);
  });

  it("a file named like a left-out folder is kept: only folders of that name are left out", () => {
    expect(keepInDeploy("node_modules")).toBe(true);
    expect(keepInDeploy(".git")).toBe(true);
  });
});

describe("isLeftOutFolder", () => {
  it("names the folders a dropped folder's walk does not enter", () => {
    expect([".git", "node_modules", "__MACOSX", ".svn"].every((name) => isLeftOutFolder(name, true))).toBe(true);
    expect([".git", "__MACOSX"].every((name) => isLeftOutFolder(name, false))).toBe(true);
    expect(isLeftOutFolder("node_modules", false)).toBe(false);
    expect(["dist", "assets", ".well-known", "git"].some((name) => isLeftOutFolder(name, true))).toBe(false);
  });
});

describe("folderFiles", () => {
  const blob = (text: string) => new Blob([text]);

  it("takes the chosen folder's name off, leaves out what a deploy should not carry, and sorts", () => {
    const picked = [
      { relativePath: "dist/z.css", file: blob("z") },
      { relativePath: "dist/index.html", file: blob("<h1>") },
      { relativePath: "dist/.git/config", file: blob("[core]") },
      { relativePath: "dist/node_modules/a/index.js", file: blob("a") },
      { relativePath: "dist/assets/.DS_Store", file: blob("") },
      { relativePath: "dist/assets/app.js", file: blob("app") },
    ];
    const { files, leftOut } = folderFiles(picked);
    expect(files.map((f) => f.path)).toEqual(["assets/app.js", "index.html", "z.css"]);
    expect(leftOut).toBe(3);
    expect(files[1]!.file).toBe(picked[1]!.file);
  });

  it("sorts by code unit, the same order on every machine", () => {
    const { files } = folderFiles(["s/b", "s/B", "s/a/x", "s/ä", "s/_"].map((relativePath) => ({ relativePath, file: blob("") })));
    expect(files.map((f) => f.path)).toEqual(["B", "_", "a/x", "b", "ä"]);
  });

  it("leaves out what the chosen folder's .pagodaignore names, the file itself included", async () => {
    const picked = [
      { relativePath: "dist/.pagodaignore", file: blob("drafts/\n*.map\n!keep.map\n") },
      { relativePath: "dist/index.html", file: blob("<h1>") },
      { relativePath: "dist/drafts/wip.html", file: blob("wip") },
      { relativePath: "dist/js/app.js.map", file: blob("{}") },
      { relativePath: "dist/js/keep.map", file: blob("{}") },
      { relativePath: "dist/sub/.pagodaignore", file: blob("index.html\n") },
    ];
    const { files, leftOut } = await pickedFolderFiles(picked);
    expect(files.map((f) => f.path)).toEqual(["index.html", "js/keep.map", "sub/.pagodaignore"]);
    expect(leftOut).toBe(3);
  });

  it("keeps a folder's files out when a folder above them is ignored, whatever a later rule says", () => {
    const rules = parseIgnoreRules("private/\n!private/public.html\n");
    expect(keepInDeploy("private/public.html", rules)).toBe(false);
    expect(keepInDeploy("a/private/x.html", rules)).toBe(false);
    expect(keepInDeploy("privately.html", rules)).toBe(true);
  });

  it("keeps and leaves out exactly what the pagoda CLI does for the same folder", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "pagoda-folder-files-"));
    try {
      const tree: Record<string, string> = {
        ".pagodaignore": "# local only\ndrafts/\n*.log\n!important.log\n/top-only.txt\nbuild/**/*.map\nprivate/\n!private/public.html\n",
        "index.html": "<h1>",
        "important.log": "keep",
        "debug.log": "drop",
        "top-only.txt": "drop",
        "nested/top-only.txt": "keep",
        "nested/deep/trace.log": "drop",
        "drafts/a.html": "drop",
        "docs/drafts/b.html": "drop",
        "build/js/app.js.map": "drop",
        "build/js/app.js": "keep",
        "private/public.html": "drop",
        "node_modules/x/index.js": "drop",
        ".git/HEAD": "drop",
        "assets/.DS_Store": "drop",
        "sub/.pagodaignore": "keep",
      };
      for (const [name, text] of Object.entries(tree)) {
        await mkdir(path.dirname(path.join(root, name)), { recursive: true });
        await writeFile(path.join(root, name), text);
      }
      const cli = (await walkFolder(root)).files.map((f) => f.path);
      const picked = await Promise.all(
        Object.keys(tree).map(async (name) => ({ relativePath: `site/${name}`, file: new Blob([await readFile(path.join(root, name))]) })),
      );
      const browser = (await pickedFolderFiles(picked)).files.map((f) => f.path);
      expect(browser).toEqual(cli);
      expect(cli).toEqual(["build/js/app.js", "important.log", "index.html", "nested/top-only.txt", "sub/.pagodaignore"]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("folderName is the first segment", () => {
    expect(folderName("dist/a/b.html")).toBe("dist");
    expect(folderName("solo")).toBe("solo");
  });
});

describe("isCompressedFormat", () => {
  it("stores what is compressed already and deflates the rest", () => {
    expect(["a.png", "b/C.JPG", "f.woff2", "x.gz", "v.mp4"].every(isCompressedFormat)).toBe(true);
    expect(["index.html", "app.js", "style.css", "data.json", "image.svg", "noext", "dir.png/file"].some(isCompressedFormat)).toBe(false);
  });
});
