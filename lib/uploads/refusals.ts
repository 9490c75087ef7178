import { UploadError } from "./errors";
import { quoteName } from "./format";

/**
 * Refusals that the server (reading a zip) and the pagoda CLI (walking a
 * folder before it zips it) must word alike, so that a person sees the same
 * sentence whichever of the two stops them. Pure: no I/O, no server code.
 */

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

export function symlinkRefusal(source: string): UploadError {
  return new UploadError("symlink", `The entry ${quoteName(source)} is a symbolic link. Links are not allowed; replace it with the file it points to.`, {
    entry: source,
  });
}

export function specialFileRefusal(source: string): UploadError {
  return new UploadError(
    "special_file",
    `The entry ${quoteName(source)} is not a regular file (it is a device, pipe or socket). Only files and folders can be uploaded.`,
    { entry: source },
  );
}

/** Throws the refusal for a Unix file type (st_mode & S_IFMT) that is neither a file nor a folder; 0 means "not recorded". */
export function assertPlainFileType(type: number, source: string): void {
  if (type === S_IFLNK) throw symlinkRefusal(source);
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) throw specialFileRefusal(source);
}
