import { describe, expect, it } from "vitest";
import { folderFiles, folderName, isCompressedFormat, isLeftOutFolder, keepInDeploy } from "./folder-files";

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
