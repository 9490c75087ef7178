// Unpacks a verified tarball into the pod's own work dir. The digest says the
// bytes are the ones the dashboard built, not that they are harmless: the
// dashboard makes only files and directories, so anything else (links,
// devices, `..`, absolute names) means the artifact was not made by it and is
// refused whole. The tree is written under a temporary name and renamed, so a
// tree at its final name is always complete.
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { maxTreeEntries, maxUnpackedSiteBytes } from "@/lib/staticsite/site-size";

export class ArtifactInvalidError extends Error {
  override readonly name = "ArtifactInvalidError";
}

export interface UnpackLimits {
  maxBytes: number;
  maxEntries: number;
}

const DEFAULT_UNPACK_LIMITS: Readonly<UnpackLimits> = Object.freeze({ maxBytes: maxUnpackedSiteBytes(), maxEntries: maxTreeEntries() });

/** Suffix of a tree being unpacked; such a name is never served and is removed at start. */
export const UNPACKING_MARK = ".unpacking-";

/**
 * The entry's path relative to the site's root ("" for the root itself), or
 * an ArtifactInvalidError for a name that is absolute or climbs out.
 */
export function entryPath(name: string): string {
  if (name.includes("\0")) throw new ArtifactInvalidError(`entry ${JSON.stringify(name)} has a NUL byte in its name`);
  if (name.startsWith("/")) throw new ArtifactInvalidError(`entry ${JSON.stringify(name)} has an absolute name`);
  const segments = name.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) throw new ArtifactInvalidError(`entry ${JSON.stringify(name)} climbs out of the site with ..`);
  return segments.join("/");
}

/** Unpacks `tarball` (gzip-compressed tar) to `dest`, which must not exist yet; nothing is left at `dest` on failure. */
export async function unpackTarball(tarball: string, dest: string, limits: UnpackLimits = DEFAULT_UNPACK_LIMITS): Promise<{ entries: number; bytes: number }> {
  const tmp = `${dest}${UNPACKING_MARK}${process.pid}-${randomBytes(4).toString("hex")}`;
  await mkdir(tmp, { recursive: false, mode: 0o755 });
  const extract = tar.extract();
  const source = pipeline(createReadStream(tarball), createGunzip(), extract);
  // Awaited below; this only keeps a failure before then from counting as unhandled.
  source.catch(() => undefined);
  let entries = 0;
  let bytes = 0;
  try {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      const rel = entryPath(name);
      if (++entries > limits.maxEntries) throw new ArtifactInvalidError(`more than ${limits.maxEntries} entries`);
      const target = path.join(tmp, rel);
      if (target !== tmp && !target.startsWith(tmp + path.sep)) throw new ArtifactInvalidError(`entry ${JSON.stringify(name)} escapes the site`);
      if (type === "directory") {
        await mkdir(target, { recursive: true, mode: 0o755 }).catch(asInvalid(name));
        entry.resume();
      } else if (type === "file") {
        if (rel === "") throw new ArtifactInvalidError(`entry ${JSON.stringify(name)} is a file at the site's root`);
        bytes += entry.header.size ?? 0;
        if (bytes > limits.maxBytes) throw new ArtifactInvalidError(`the files add up to more than ${limits.maxBytes} bytes`);
        await mkdir(path.dirname(target), { recursive: true, mode: 0o755 }).catch(asInvalid(name));
        // `wx`: a name twice in one archive is refused rather than silently overwritten.
        await pipeline(entry, createWriteStream(target, { flags: "wx", mode: 0o644 })).catch(asInvalid(name));
      } else {
        throw new ArtifactInvalidError(`entry ${JSON.stringify(name)} is a ${type ?? "typeless"} entry; only files and directories are allowed`);
      }
    }
    await source;
    await rename(tmp, dest);
  } catch (error) {
    extract.destroy();
    await source.catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    if (error instanceof ArtifactInvalidError) throw error;
    // Errors of the file system (a full disk, an unreadable tarball) name their system call; gzip's and tar's do not.
    if ((error as NodeJS.ErrnoException).syscall === undefined) {
      throw new ArtifactInvalidError(`not a valid gzip-compressed tar archive: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    throw error;
  }
  return { entries, bytes };
}

function asInvalid(name: string): (error: unknown) => never {
  return (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR" || code === "EISDIR") {
      throw new ArtifactInvalidError(`entry ${JSON.stringify(name)} collides with another entry (${code})`, { cause: error });
    }
    throw error;
  };
}
