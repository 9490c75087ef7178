import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { link, mkdir, open, readdir, rm, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { componentLogger } from "@/lib/log";
import { digestFromHex, digestHex, type Digest } from "./digest";
import { DigestMismatchError, type ArtifactStore } from "./store";

const log = componentLogger("artifacts.fs");

/**
 * Artifacts as files: <root>/sha256/ab/abcdef….tar.gz. The two-character
 * fan-out keeps directories small enough to list at any realistic count.
 */
export class FsArtifactStore implements ArtifactStore {
  readonly description: string;

  constructor(private readonly root: string) {
    if (!path.isAbsolute(root)) throw new TypeError(`artifact store root must be an absolute path, got ${root}`);
    this.description = `fs:${root}`;
  }

  pathOf(digest: Digest): string {
    const hex = digestHex(digest);
    return path.join(this.root, "sha256", hex.slice(0, 2), `${hex}.tar.gz`);
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.stat(digest)) !== null;
  }

  async stat(digest: Digest): Promise<{ size: number } | null> {
    try {
      const st = await stat(this.pathOf(digest));
      return { size: st.size };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * Copy into a temp file beside the target, hashing on the way; fsync;
   * then link(2) it into place. link fails with EEXIST instead of replacing,
   * which makes "exactly one of N concurrent puts stores it" hold without
   * locks, and readers never see a partial file. The directory is fsynced
   * so the new name survives a crash.
   */
  async putFile(digest: Digest, tempFilePath: string): Promise<{ alreadyStored: boolean }> {
    const target = this.pathOf(digest);
    if (await this.has(digest)) return { alreadyStored: true };
    const dir = path.dirname(target);
    await mkdir(dir, { recursive: true });
    const staging = path.join(dir, `.incoming-${randomBytes(8).toString("hex")}`);
    try {
      const hash = createHash("sha256");
      const hasher = new Transform({
        transform(chunk: Buffer, _enc, cb: TransformCallback) {
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      await pipeline(createReadStream(tempFilePath), hasher, createWriteStream(staging, { flags: "wx", mode: 0o644 }));
      const actual: Digest = `sha256:${hash.digest("hex")}`;
      if (actual !== digest) throw new DigestMismatchError(digest, actual);
      await fsyncPath(staging, "r");
      let alreadyStored = false;
      try {
        await link(staging, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        alreadyStored = true;
      }
      await fsyncPath(dir, "r");
      if (!alreadyStored) log.info({ digest, path: target }, "artifact stored");
      return { alreadyStored };
    } finally {
      await rm(staging, { force: true });
    }
  }

  async open(digest: Digest): Promise<{ size: number; stream: import("node:stream").Readable } | null> {
    const file = this.pathOf(digest);
    let handle;
    try {
      handle = await open(file, "r");
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    // Size from the open descriptor, so it matches what the stream reads
    // even if the name is deleted meanwhile.
    const { size } = await handle.stat();
    return { size, stream: handle.createReadStream() };
  }

  async delete(digest: Digest): Promise<void> {
    try {
      await unlink(this.pathOf(digest));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Walks <root>/sha256/ab/; staging files (.incoming-*) and anything else are skipped. */
  async *list(): AsyncIterable<{ digest: Digest; size: number }> {
    const base = path.join(this.root, "sha256");
    for (const fan of (await readdirOrEmpty(base)).sort()) {
      if (!FAN_OUT.test(fan)) continue;
      for (const name of (await readdirOrEmpty(path.join(base, fan))).sort()) {
        const hex = ARTIFACT_FILE.exec(name)?.[1];
        if (!hex?.startsWith(fan)) continue;
        const found = await this.stat(digestFromHex(hex));
        if (found) yield { digest: digestFromHex(hex), size: found.size };
      }
    }
  }
}

const FAN_OUT = /^[0-9a-f]{2}$/;
const ARTIFACT_FILE = /^([0-9a-f]{64})\.tar\.gz$/;

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

async function fsyncPath(p: string, flags: string): Promise<void> {
  const handle = await open(p, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}
