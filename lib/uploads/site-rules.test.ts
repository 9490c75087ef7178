import { mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsArtifactStore } from "@/lib/artifacts/fs-store";
import { MAX_RULES_FILE_BYTES } from "@/lib/staticsite/rules";
import { UploadError } from "./errors";
import { DEFAULT_UPLOAD_LIMITS } from "./limits";
import { processUpload } from "./process";
import { buildZip, listFiles, makeTmp, writeZip, type ZipSpecEntry } from "./test-support";

const INDEX: ZipSpecEntry = { name: "index.html", data: "<!doctype html><title>ok</title>" };
const REDIRECTS = "# moved\n/old /new 301\n/blog/* /news/:splat 302\n";
const HEADERS = "/fonts/*\n  Access-Control-Allow-Origin: *\n";

let work: { dir: string; cleanup(): Promise<void> };
let tmp: string;
let storeRoot: string;
let store: FsArtifactStore;

beforeEach(async () => {
  work = await makeTmp("site-rules");
  tmp = path.join(work.dir, "tmp");
  storeRoot = path.join(work.dir, "store");
  await mkdir(tmp);
  store = new FsArtifactStore(storeRoot);
});
afterEach(async () => {
  await work.cleanup();
});

async function run(entries: readonly ZipSpecEntry[], proxyOrigins?: readonly string[]) {
  const zipPath = await writeZip(work.dir, "upload.zip", await buildZip(entries));
  return processUpload(zipPath, DEFAULT_UPLOAD_LIMITS, store, { tmpDir: tmp, proxyOrigins });
}

async function refused(entries: readonly ZipSpecEntry[], proxyOrigins?: readonly string[]): Promise<UploadError> {
  const err: unknown = await run(entries, proxyOrigins).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UploadError);
  const upload = err as UploadError;
  expect({ status: upload.status, code: upload.code }).toEqual({ status: 422, code: "invalid_rules" });
  // Nothing stored, nothing left in the scratch space.
  expect(await listFiles(storeRoot).catch(() => [])).toEqual([]);
  expect(await readdir(tmp)).toEqual([]);
  return upload;
}

describe("_redirects and _headers at upload", () => {
  it("keeps the text of both files, and both files in the artifact", async () => {
    const result = await run([INDEX, { name: "_redirects", data: REDIRECTS }, { name: "_headers", data: HEADERS }]);
    expect(result.rules).toEqual({ redirects: REDIRECTS, headers: HEADERS });
    expect(result.paths).toEqual(expect.arrayContaining(["/_redirects", "/_headers"]));
  });

  it("reads them at the root after the wrapping folder is stripped, and only there", async () => {
    const wrapped = await run([
      { name: "dist/index.html", data: "<h1>x</h1>" },
      { name: "dist/_redirects", data: REDIRECTS },
    ]);
    expect(wrapped.rules).toEqual({ redirects: REDIRECTS, headers: null });
    const nested = await run([INDEX, { name: "docs/_redirects", data: "/a /b 999\n" }]);
    expect(nested.rules).toEqual({ redirects: null, headers: null });
  });

  it("has no rules when neither file is there", async () => {
    expect((await run([INDEX])).rules).toEqual({ redirects: null, headers: null });
  });

  it("refuses a bad _redirects line with the file, the line and what is wrong", async () => {
    const err = await refused([INDEX, { name: "_redirects", data: "# ok\n/a /b\n".repeat(5) + "/old /new 999\n" }]);
    expect(err.entry).toBe("_redirects");
    expect(err.message).toBe("_redirects line 11: status 999 is not a redirect status; give one of 200, 301, 302, 303, 307, 308, 404");
  });

  it("names the file as it is in the zip when a folder wrapped it", async () => {
    const err = await refused([
      { name: "dist/index.html", data: "<h1>x</h1>" },
      { name: "dist/_redirects", data: "/a /b 999\n" },
    ]);
    expect(err.entry).toBe("dist/_redirects");
    expect(err.message).toMatch(/^_redirects line 1: status 999/);
  });

  it("refuses a header a site may not set, naming it and the line", async () => {
    const err = await refused([INDEX, { name: "_headers", data: "/*\n  X-Ok: 1\n  Set-Cookie: a=b\n" }]);
    expect(err.entry).toBe("_headers");
    expect(err.message).toMatch(/^_headers line 3: .*Set-Cookie/);
  });

  it("lists the first five errors and counts the rest", async () => {
    const err = await refused([INDEX, { name: "_redirects", data: "/a /b 999\n".repeat(8) }]);
    const lines = err.message.split("\n");
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^_redirects line 1: /);
    expect(lines[4]).toMatch(/^_redirects line 5: /);
    expect(lines[5]).toBe("and 3 more errors in _redirects");
  });

  it("refuses a file over the size limit before inflating it, and one that is not UTF-8", async () => {
    const big = await refused([INDEX, { name: "_redirects", data: `# ${"x".repeat(MAX_RULES_FILE_BYTES)}\n` }]);
    expect(big.message).toMatch(/^_redirects is .*; at most 256 KiB are allowed\.$/);
    const latin1 = await refused([INDEX, { name: "_headers", data: Buffer.from([0x2f, 0x2a, 0x0a, 0x20, 0x20, 0x58, 0x3a, 0x20, 0xe9, 0x0a]) }]);
    expect(latin1.message).toBe("_headers is not valid UTF-8 text");
  });

  it("refuses a proxy to another origin when the platform allows none", async () => {
    const err = await refused([INDEX, { name: "_redirects", data: "/api/* https://api.example.com/:splat 200\n" }]);
    expect(err.message).toBe(
      "_redirects line 1: proxying to another origin (200 to https://api.example.com/:splat) is not enabled on this platform; use a redirect status",
    );
  });

  it("takes a proxy to an allowed origin", async () => {
    const ok = "/api/* https://api.example.com/:splat 200\n";
    expect((await run([INDEX, { name: "_redirects", data: ok }], ["https://api.example.com"])).rules.redirects).toBe(ok);
  });

  it("refuses a proxy to any other origin, naming the allowed ones", async () => {
    const allowed = ["https://api.example.com"];
    const err = await refused([INDEX, { name: "_redirects", data: "/a /b\n/api/* https://api.example.com.evil.tld/:splat 200\n" }], allowed);
    expect(err.message).toBe("_redirects line 2: proxying to https://api.example.com.evil.tld is not allowed; allowed origins: https://api.example.com");
  });
});
