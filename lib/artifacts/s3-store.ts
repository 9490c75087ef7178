import "server-only";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat as statFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { componentLogger } from "@/lib/log";
import { digestFromHex, digestHex, type Digest } from "./digest";
import { DigestMismatchError, type ArtifactStore } from "./store";

const log = componentLogger("artifacts.s3");

export interface S3StoreConfig {
  bucket: string;
  /** Key prefix, e.g. "pagoda/artifacts"; no leading or trailing slash needed. */
  prefix?: string;
  region?: string;
  /** For S3-compatible servers (MinIO, Ceph, R2…): full URL, e.g. "http://127.0.0.1:9000". */
  endpoint?: string;
  /** Most self-hosted servers need path-style URLs (no bucket subdomain). */
  forcePathStyle?: boolean;
  /** Omitted: the SDK's default chain (env, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * Artifacts as objects: <prefix>/sha256/<hex>.tar.gz. Objects are written
 * whole by one PutObject, so readers see all of an artifact or none.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(config: S3StoreConfig, client?: S3Client) {
    this.bucket = config.bucket;
    this.prefix = (config.prefix ?? "").replace(/^\/+|\/+$/g, "");
    this.description = `s3://${config.bucket}/${this.prefix}`;
    this.client =
      client ??
      new S3Client({
        region: config.region ?? "us-east-1",
        ...(config.endpoint ? { endpoint: config.endpoint } : {}),
        forcePathStyle: config.forcePathStyle ?? false,
        ...(config.credentials ? { credentials: config.credentials } : {}),
        // The SDK's default adds CRC trailers via aws-chunked uploads, which
        // several S3-compatible servers reject. We send our own SHA-256
        // instead (see putFile), which is stronger and widely understood.
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
      });
  }

  keyOf(digest: Digest): string {
    const name = `sha256/${digestHex(digest)}.tar.gz`;
    return this.prefix ? `${this.prefix}/${name}` : name;
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.stat(digest)) !== null;
  }

  async stat(digest: Digest): Promise<{ size: number } | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest) }));
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw wrap(err, `HEAD ${this.keyOf(digest)}`);
    }
  }

  /**
   * Streams the file with a known ContentLength (no buffering, no multipart
   * for artifacts under S3's 5 GiB single-put limit, far above our upload
   * limits) and a SHA-256 checksum the server verifies before committing,
   * so a corrupted transfer is refused rather than stored under the digest.
   * Concurrent puts of one digest both write identical bytes; S3 keeps one.
   */
  async putFile(digest: Digest, tempFilePath: string): Promise<{ alreadyStored: boolean }> {
    if (await this.has(digest)) return { alreadyStored: true };
    // Not every S3-compatible server checks x-amz-checksum-sha256, and an
    // object stored under the wrong digest would be served forever; one
    // local read is cheap insurance.
    const actual = await sha256File(tempFilePath);
    if (actual !== digest) throw new DigestMismatchError(digest, actual);
    const { size } = await statFile(tempFilePath);
    const key = this.keyOf(digest);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: createReadStream(tempFilePath),
          ContentLength: size,
          ContentType: "application/gzip",
          ChecksumSHA256: Buffer.from(digestHex(digest), "hex").toString("base64"),
        }),
      );
    } catch (err) {
      throw wrap(err, `PUT ${key}`);
    }
    log.info({ digest, bucket: this.bucket, key, size }, "artifact stored");
    return { alreadyStored: false };
  }

  async open(digest: Digest): Promise<{ size: number; stream: Readable } | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest) }));
      if (!res.Body) throw new Error(`GET ${this.keyOf(digest)} returned no body`);
      return { size: res.ContentLength ?? 0, stream: res.Body as Readable };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw wrap(err, `GET ${this.keyOf(digest)}`);
    }
  }

  async delete(digest: Digest): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(digest) }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw wrap(err, `DELETE ${this.keyOf(digest)}`);
    }
  }

  /** ListObjectsV2 under <prefix>/sha256/, a page of up to 1,000 keys at a time; other keys are skipped. */
  async *list(): AsyncIterable<{ digest: Digest; size: number }> {
    const under = this.keyOf(digestFromHex("0".repeat(64))).replace(/[0-9a-f]{64}\.tar\.gz$/, "");
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: under, ContinuationToken: token }));
      } catch (err) {
        throw wrap(err, `LIST ${under}`);
      }
      for (const object of page.Contents ?? []) {
        const hex = /^([0-9a-f]{64})\.tar\.gz$/.exec((object.Key ?? "").slice(under.length))?.[1];
        if (hex) yield { digest: digestFromHex(hex), size: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}

function isNotFound(err: unknown): boolean {
  if (err instanceof S3ServiceException) {
    return err.name === "NotFound" || err.name === "NoSuchKey" || err.$metadata.httpStatusCode === 404;
  }
  return false;
}

function wrap(err: unknown, what: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`S3 ${what} failed: ${message}`, { cause: err });
}

async function sha256File(file: string): Promise<Digest> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}
