import { quoteName } from "./format";

/**
 * Every way an upload can be refused. Codes are a stable API: the dashboard
 * maps them to help text and tests assert on them, so never rename one.
 * The HTTP status says who has to act: 413 means "make it smaller",
 * 415 "this is not a zip at all", 422 "this zip is not acceptable", 400 "the
 * request itself was malformed".
 */
export const UPLOAD_ERROR_STATUS = {
  bad_request: 400,
  too_large: 413,
  too_many_files: 413,
  uncompressed_too_large: 413,
  file_too_large: 413,
  not_a_zip: 415,
  corrupt: 422,
  truncated: 422,
  crc_mismatch: 422,
  size_mismatch: 422,
  overlapping_entries: 422,
  zip_header_mismatch: 422,
  split_archive: 422,
  unsupported_compression: 422,
  encrypted: 422,
  path_traversal: 422,
  absolute_path: 422,
  backslash: 422,
  bad_name: 422,
  name_too_long: 422,
  path_too_deep: 422,
  duplicate_path: 422,
  file_folder_conflict: 422,
  symlink: 422,
  special_file: 422,
  ratio_too_high: 422,
  empty_archive: 422,
  no_index_html: 422,
  invalid_rules: 422,
} as const;

export type UploadErrorCode = keyof typeof UPLOAD_ERROR_STATUS;
export type UploadErrorStatus = (typeof UPLOAD_ERROR_STATUS)[UploadErrorCode];

export class UploadError extends Error {
  override readonly name = "UploadError";
  readonly status: UploadErrorStatus;
  readonly code: UploadErrorCode;
  /** The offending path inside the zip, as the person would recognise it. */
  readonly entry?: string;

  constructor(code: UploadErrorCode, message: string, opts: { entry?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = UPLOAD_ERROR_STATUS[code];
    if (opts.entry !== undefined) this.entry = opts.entry;
  }

  /** What an HTTP route may send back: nothing internal, only what the person needs. */
  toJSON(): { code: UploadErrorCode; message: string; entry?: string } {
    return this.entry === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, entry: this.entry };
  }
}

export function isUploadError(err: unknown): err is UploadError {
  return err instanceof UploadError;
}

/** Where in the zip a library error happened, for a message that says so. */
export type ZipErrorSite = { stage: "open" } | { stage: "directory"; entriesRead: number } | { stage: "entry"; entry: string };

/**
 * A failure of the machine (disk, file descriptors), not of the zip: Node's
 * system errors name the call that failed. zlib's errors carry an errno too,
 * but no syscall.
 */
function isSystemError(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException | null)?.syscall === "string";
}

/**
 * Turns an error from yauzl or zlib into a refusal in our own words, with
 * the original kept as `cause` for the log (process.ts logs it): library
 * text names internal fields and offsets and is no help to the person.
 * Returns the error itself when it is not about the zip (a system error, or
 * anything unknown while reading an entry, such as the tar writer failing),
 * so that it stays a server fault.
 */
export function zipLibraryError(err: unknown, site: ZipErrorSite): Error {
  if (isUploadError(err)) return err;
  const original = err instanceof Error ? err : new Error(String(err));
  if (isSystemError(err)) return original;
  const text = original.message;
  const code = (err as { code?: unknown }).code;
  const make = (c: UploadErrorCode, message: string, entry?: string) => new UploadError(c, message, { cause: err, ...(entry === undefined ? {} : { entry }) });
  const again = "Please create the zip again.";

  if (site.stage === "open") {
    if (/unexpected EOF/i.test(text)) return make("truncated", `The zip file is incomplete: it ends in the middle of its table of contents. ${again}`);
    if (/comment length/i.test(text))
      return make(
        "corrupt",
        `The end of the zip is damaged: its table of contents does not end where the file ends (something may have been added after the zip). ${again}`,
      );
    if (/zip64 end of central directory/i.test(text))
      return make("corrupt", `The zip's large-archive (ZIP64) table of contents is damaged or missing. ${again}`);
    if (/multi-disk/i.test(text))
      return make(
        "split_archive",
        "This zip is one part of a split (multi-part) archive. Join the parts into one zip, or zip the site again as a single file.",
      );
    return make("corrupt", `The zip file is damaged and cannot be read. ${again}`);
  }

  if (site.stage === "directory") {
    const n = site.entriesRead;
    const after = `after ${n.toLocaleString("en-US")} ${n === 1 ? "entry" : "entries"}`;
    if (/strong encryption/i.test(text)) return make("encrypted", "The zip uses strong encryption. Zip the site again without a password.");
    if (/unexpected EOF/i.test(text)) return make("truncated", `The zip's table of contents is cut short ${after}. ${again}`);
    if (/central directory file header signature/i.test(text))
      return make("corrupt", `The zip's table of contents is damaged ${after}: the next record is not where the zip says it is. ${again}`);
    if (/extra field length/i.test(text))
      return make("corrupt", `The zip's table of contents is damaged ${after}: the extra information of the next entry runs past its end. ${again}`);
    if (/zip64 extended information/i.test(text))
      return make("corrupt", `The zip's table of contents is damaged ${after}: the next entry's large-file (ZIP64) sizes are missing. ${again}`);
    return make("corrupt", `The zip's table of contents is damaged ${after}. ${again}`);
  }

  const name = quoteName(site.entry);
  if (code === "Z_BUF_ERROR" || /unexpected end of file/i.test(text)) {
    return make("truncated", `The compressed data of ${name} ends before the file is complete. The zip is incomplete; ${again.toLowerCase()}`, site.entry);
  }
  if (typeof code === "string" && code.startsWith("Z_")) {
    return make("corrupt", `The compressed data of ${name} is damaged, so the file cannot be unpacked. ${again}`, site.entry);
  }
  if (/overflows file bounds|unexpected EOF/i.test(text)) {
    return make("truncated", `The data of ${name} is cut short. The zip is incomplete; ${again.toLowerCase()}`, site.entry);
  }
  if (/local file header signature/i.test(text)) {
    return make("corrupt", `The zip's table of contents says ${name} starts where there is no file header. The zip is damaged or was crafted.`, site.entry);
  }
  if (/extra field length/i.test(text)) {
    return make("corrupt", `The header of ${name} is damaged: its extra information runs past its end. ${again}`, site.entry);
  }
  if (/unsupported compression method/i.test(text)) {
    return make(
      "unsupported_compression",
      `The file ${name} is compressed with a method that is not supported. Re-create the zip with the standard "Deflate" (or "Store") method.`,
      site.entry,
    );
  }
  return original;
}
