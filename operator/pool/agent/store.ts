// The artifact store: content-addressed tarballs (`<hex>.tgz`) and the last
// desired map, in a directory that may be a node directory shared by every
// pool pod on the node. Shared safely because every name is its content's
// digest: two agents fetching the same artifact each write a temporary name
// and rename it into place (the second rename replaces equal bytes), and an
// unlink racing a use only costs a fetch. A file is trusted only after its
// digest was checked again, every time it is about to be unpacked.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { backoffDelay, type BackoffPolicy } from "@/lib/kube/backoff";
import { maxArtifactBytes } from "@/lib/staticsite/site-size";
import { componentLogger } from "@/lib/log";
import { poolDesiredSchema, type PoolDesired } from "../protocol";
import type { AgentMetrics } from "./metrics";
import { digestHex } from "./render";

const log = componentLogger("pool-store");

type ArtifactErrorReason = "ArtifactFetchFailed" | "ArtifactInvalid";

export class ArtifactError extends Error {
  override readonly name = "ArtifactError";
  constructor(
    readonly reason: ArtifactErrorReason,
    message: string,
    /** Worth another try: the server or the network failed, not the artifact. */
    readonly retryable = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface StoreOptions {
  dir: string;
  maxBytes: number;
  metrics: AgentMetrics;
  /** Largest artifact accepted (default: what the upload limits allow). */
  maxArtifactBytes?: number;
  /** Deadline of one download, headers to last byte. */
  fetchTimeoutMs?: number;
  /** Downloads of one artifact before giving up. */
  attempts?: number;
  backoff?: BackoffPolicy;
}

export interface StoredTarball {
  digest: string;
  bytes: number;
  /** Last use (mtime: every agent sharing the directory sees the same). */
  usedAtMs: number;
}

const TARBALL_RE = /^([a-f0-9]{64})\.tgz$/;
export const DESIRED_FILE = "desired.json";
/** Temporary names older than this are left-overs of a killed agent, not a download under way. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** Tarballs to delete, least recently used first, until the rest fit in maxBytes; a wanted one is never chosen. */
export function chooseEvictions(tarballs: readonly StoredTarball[], wanted: ReadonlySet<string>, maxBytes: number): StoredTarball[] {
  let total = tarballs.reduce((n, t) => n + t.bytes, 0);
  const chosen: StoredTarball[] = [];
  for (const t of [...tarballs].sort((a, b) => a.usedAtMs - b.usedAtMs || a.digest.localeCompare(b.digest))) {
    if (total <= maxBytes) break;
    if (wanted.has(t.digest)) continue;
    chosen.push(t);
    total -= t.bytes;
  }
  return chosen;
}

/** The URL without its query: signed URLs carry their credentials there, and messages end up in a StaticSite's status. */
export function urlForMessages(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}

function tempName(base: string): string {
  return `${base}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
}

export class ArtifactStore {
  private readonly maxArtifactBytes: number;
  private readonly fetchTimeoutMs: number;
  private readonly attempts: number;
  private readonly backoff: BackoffPolicy;
  /** One download per digest at a time in this agent (several sites may share an artifact). */
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(private readonly opts: StoreOptions) {
    this.maxArtifactBytes = opts.maxArtifactBytes ?? maxArtifactBytes();
    this.fetchTimeoutMs = opts.fetchTimeoutMs ?? 120_000;
    this.attempts = opts.attempts ?? 3;
    this.backoff = opts.backoff ?? { baseMs: 1000, maxMs: 10_000 };
  }

  get dir(): string {
    return this.opts.dir;
  }

  tarballPath(digest: string): string {
    return path.join(this.opts.dir, `${digestHex(digest)}.tgz`);
  }

  async init(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    const now = Date.now();
    for (const name of await readdir(this.opts.dir)) {
      if (!name.endsWith(".tmp")) continue;
      const file = path.join(this.opts.dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(file, { force: true });
    }
  }

  /** The tarball's path if the store holds it with the right digest; a file with another content is deleted. */
  async verified(digest: string): Promise<string | undefined> {
    const file = this.tarballPath(digest);
    let actual: string;
    try {
      const hash = createHash("sha256");
      await pipeline(createReadStream(file), hash);
      actual = `sha256:${hash.digest("hex")}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    if (actual !== digest) {
      this.opts.metrics.tampered.inc();
      log.warn({ digest, actual }, "tarball in the store does not have its digest; deleted");
      await rm(file, { force: true });
      return undefined;
    }
    await this.touch(file);
    return file;
  }

  /** A verified tarball of `digest`: the store's, or downloaded from `url` (with retries). */
  async ensure(digest: string, url: string): Promise<string> {
    const stored = await this.verified(digest);
    if (stored) {
      this.opts.metrics.cacheHits.inc();
      return stored;
    }
    this.opts.metrics.cacheMisses.inc();
    let pending = this.inFlight.get(digest);
    if (!pending) {
      pending = this.download(digest, url).finally(() => this.inFlight.delete(digest));
      this.inFlight.set(digest, pending);
    }
    return pending;
  }

  private async download(digest: string, url: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.fetchOnce(digest, url);
      } catch (error) {
        const failure =
          error instanceof ArtifactError
            ? error
            : new ArtifactError("ArtifactFetchFailed", `artifact download failed: ${error instanceof Error ? error.message : String(error)}`, false, {
                cause: error,
              });
        if (!failure.retryable || attempt >= this.attempts) {
          this.opts.metrics.fetchFailures.inc({ reason: failure.reason });
          throw failure;
        }
        const delay = backoffDelay(attempt, this.backoff);
        log.warn({ digest, attempt, delayMs: delay, err: failure.message }, "artifact download failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async fetchOnce(digest: string, url: string): Promise<string> {
    const where = urlForMessages(url);
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.fetchTimeoutMs) });
    } catch (error) {
      const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      throw new ArtifactError("ArtifactFetchFailed", `artifact download from ${where} failed: ${cause}`, true, { cause: error });
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
      throw new ArtifactError("ArtifactFetchFailed", `artifact download from ${where} answered HTTP ${response.status}`, retryable);
    }
    const declared = Number(response.headers.get("content-length") ?? NaN);
    if (declared > this.maxArtifactBytes) {
      await response.body.cancel();
      throw new ArtifactError("ArtifactInvalid", `artifact from ${where} is ${declared} bytes, more than the ${this.maxArtifactBytes} allowed`);
    }
    const target = this.tarballPath(digest);
    const tmp = tempName(target);
    const hash = createHash("sha256");
    let bytes = 0;
    const limit = this.maxArtifactBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > limit) {
          done(new ArtifactError("ArtifactInvalid", `artifact from ${where} is more than the ${limit} bytes allowed`));
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), meter, createWriteStream(tmp, { flags: "wx" }));
    } catch (error) {
      await rm(tmp, { force: true });
      if (error instanceof ArtifactError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new ArtifactError("ArtifactFetchFailed", `artifact download from ${where} broke off: ${message}`, true, { cause: error });
    } finally {
      this.opts.metrics.fetchedBytes.inc(bytes);
    }
    const actual = `sha256:${hash.digest("hex")}`;
    if (actual !== digest) {
      await rm(tmp, { force: true });
      throw new ArtifactError("ArtifactInvalid", `artifact digest mismatch: expected ${digest}, got ${actual}`);
    }
    await rename(tmp, target);
    log.info({ digest, bytes }, "artifact stored");
    return target;
  }

  private async touch(file: string): Promise<void> {
    const now = new Date();
    await utimes(file, now, now).catch((error: NodeJS.ErrnoException) => {
      // Evicted by another agent in between: the caller already holds verified bytes or fetches again.
      if (error.code !== "ENOENT") throw error;
    });
  }

  async list(): Promise<StoredTarball[]> {
    const out: StoredTarball[] = [];
    for (const name of await readdir(this.opts.dir)) {
      const m = TARBALL_RE.exec(name);
      if (!m) continue;
      const info = await stat(path.join(this.opts.dir, name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return undefined;
        throw error;
      });
      if (info) out.push({ digest: `sha256:${m[1]}`, bytes: info.size, usedAtMs: info.mtimeMs });
    }
    return out;
  }

  /** Deletes least recently used tarballs no wanted digest names while the store is over its size; returns the store's size after. */
  async evict(wanted: ReadonlySet<string>): Promise<{ entries: number; bytes: number }> {
    const tarballs = await this.list();
    const chosen = chooseEvictions(tarballs, wanted, this.opts.maxBytes);
    for (const t of chosen) {
      await unlink(this.tarballPath(t.digest)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
      this.opts.metrics.evictions.inc();
      log.info({ digest: t.digest, bytes: t.bytes }, "tarball evicted");
    }
    const evicted = new Set(chosen.map((t) => t.digest));
    const left = tarballs.filter((t) => !evicted.has(t.digest));
    const size = { entries: left.length, bytes: left.reduce((n, t) => n + t.bytes, 0) };
    this.opts.metrics.cacheEntries.set(size.entries);
    this.opts.metrics.cacheBytes.set(size.bytes);
    return size;
  }

  /** The newest desired map any agent sharing the store persisted; undefined when none (or unreadable, which is logged). */
  async readDesired(): Promise<PoolDesired | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.opts.dir, DESIRED_FILE), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      log.warn({ err: error }, `${DESIRED_FILE} is not JSON; ignored`);
      return undefined;
    }
    const parsed = poolDesiredSchema.safeParse(json);
    if (!parsed.success) {
      log.warn({ issues: parsed.error.issues.slice(0, 5) }, `${DESIRED_FILE} is not a desired map; ignored`);
      return undefined;
    }
    return parsed.data;
  }

  /** Persists `desired` unless the file already holds a newer generation (atomically: a reader sees the old file or the new one). */
  async writeDesired(desired: PoolDesired): Promise<void> {
    const current = await this.readDesired();
    if (current && current.generation > desired.generation) return;
    const target = path.join(this.opts.dir, DESIRED_FILE);
    const tmp = tempName(target);
    await writeFile(tmp, JSON.stringify(desired), { flag: "wx" });
    await rename(tmp, target);
  }
}
