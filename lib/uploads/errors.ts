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
    return this.entry === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, entry: this.entry };
  }
}

export function isUploadError(err: unknown): err is UploadError {
  return err instanceof UploadError;
}
