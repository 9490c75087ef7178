/**
 * The S3 driver against a real S3-compatible server: gofakes3, built from
 * the Go module proxy on first use (needs `go`), run on loopback with its
 * in-memory backend at low priority.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buffer } from "node:stream/consumers";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildZip } from "@/lib/uploads/test-support";
import { DEFAULT_UPLOAD_LIMITS } from "@/lib/uploads/limits";
import { processUpload } from "@/lib/uploads/process";
import type { Digest } from "./digest";
import { createArtifactStore } from "./index";
import { S3ArtifactStore } from "./s3-store";
import { DigestMismatchError } from "./store";
import { startTestS3, TEST_S3_CREDENTIALS as credentials, type TestS3Server } from "./s3-test-server";

const BUCKET = "pagoda-test";

let server: TestS3Server | undefined;
let endpoint = "";
let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-test-s3-"));
  server = await startTestS3(BUCKET);
  endpoint = server.endpoint;
}, 600_000);

afterAll(async () => {
  server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function store(prefix = "artifacts"): S3ArtifactStore {
  return new S3ArtifactStore({ bucket: BUCKET, prefix, endpoint, region: "us-east-1", forcePathStyle: true, credentials });
}

async function tempFile(content: Buffer | string): Promise<{ file: string; digest: Digest }> {
  const hex = createHash("sha256").update(content).digest("hex");
  const file = path.join(dir, hex);
  await writeFile(file, content);
  return { file, digest: `sha256:${hex}` };
}

async function listAll<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("S3ArtifactStore", () => {
  it("puts, stats, opens and deletes under <prefix>/sha256/<hex>.tar.gz", async () => {
    const s = store();
    const content = Buffer.from("s3 artifact ".repeat(1000));
    const { file, digest } = await tempFile(content);
    expect(await s.has(digest)).toBe(false);
    expect(await s.stat(digest)).toBeNull();
    expect(await s.open(digest)).toBeNull();

    expect(await s.putFile(digest, file)).toEqual({ alreadyStored: false });
    expect(await s.putFile(digest, file)).toEqual({ alreadyStored: true });
    expect(await s.stat(digest)).toEqual({ size: content.length });

    const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials });
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `artifacts/sha256/${digest.slice(7)}.tar.gz` }));
    expect(head.ContentLength).toBe(content.length);

    const opened = await s.open(digest);
    expect(opened?.size).toBe(content.length);
    expect((await buffer(opened!.stream)).equals(content)).toBe(true);

    await s.delete(digest);
    await s.delete(digest);
    expect(await s.has(digest)).toBe(false);
  });

  it("lists the artifacts under its own prefix only", async () => {
    const s = store("listing");
    const a = await tempFile("listed one");
    const b = await tempFile("listed two, longer");
    await s.putFile(a.digest, a.file);
    await s.putFile(b.digest, b.file);
    await store("listing-other").putFile(a.digest, a.file);
    const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "listing/sha256/notes.txt", Body: "x" }));
    const listed = await listAll(s.list());
    expect(listed.sort((x, y) => x.digest.localeCompare(y.digest))).toEqual(
      [
        { digest: a.digest, size: 10 },
        { digest: b.digest, size: 18 },
      ].sort((x, y) => x.digest.localeCompare(y.digest)),
    );
  });

  it("refuses to store bytes under the wrong digest", async () => {
    const s = store();
    const { file } = await tempFile("actual bytes");
    const { digest: other } = await tempFile("claimed bytes");
    await expect(s.putFile(other, file)).rejects.toBeInstanceOf(DigestMismatchError);
    expect(await s.has(other)).toBe(false);
  });

  it("takes a processed upload end to end, built by createArtifactStore", async () => {
    const s = createArtifactStore({ driver: "s3", bucket: BUCKET, prefix: "e2e", endpoint, region: "us-east-1", forcePathStyle: true, credentials });
    const zip = path.join(dir, "site.zip");
    await writeFile(
      zip,
      await buildZip([
        { name: "dist/index.html", data: "<h1>s3</h1>" },
        { name: "dist/app.js", data: "let x = 1;\n".repeat(500) },
      ]),
    );
    const tmp = path.join(dir, "tmp");
    await mkdir(tmp, { recursive: true });
    const first = await processUpload(zip, DEFAULT_UPLOAD_LIMITS, s, { tmpDir: tmp });
    const second = await processUpload(zip, DEFAULT_UPLOAD_LIMITS, s, { tmpDir: tmp });
    expect(first.alreadyStored).toBe(false);
    expect(second).toMatchObject({ digest: first.digest, alreadyStored: true });
    const opened = await s.open(first.digest);
    const bytes = await buffer(opened!.stream);
    expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(first.digest);
    expect(bytes.length).toBe(first.sizeBytes);
  });

  it("reports server errors with the operation and key", async () => {
    const s = new S3ArtifactStore({ bucket: "no-such-bucket", endpoint, region: "us-east-1", forcePathStyle: true, credentials });
    const { file, digest } = await tempFile("x");
    await expect(s.putFile(digest, file)).rejects.toThrow(/S3 PUT sha256\/[0-9a-f]{64}\.tar\.gz failed/);
  });
});
