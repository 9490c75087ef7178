import { formatBytes } from "./format";

/**
 * Refusals about the server's capacity and the connection, not the zip:
 * the same upload may well succeed later. Codes are a stable API like
 * UploadError's. 429 and 507 say "try again later" (with Retry-After where
 * we can say when), 408 "the connection was too slow".
 */
export const UPLOAD_LIMIT_STATUS = {
  too_many_uploads: 429,
  server_busy: 429,
  idle_timeout: 408,
  upload_too_slow: 408,
  insufficient_storage: 507,
} as const;

export type UploadLimitCode = keyof typeof UPLOAD_LIMIT_STATUS;

export class UploadLimitError extends Error {
  override readonly name = "UploadLimitError";
  readonly status: (typeof UPLOAD_LIMIT_STATUS)[UploadLimitCode];

  constructor(
    readonly code: UploadLimitCode,
    message: string,
    readonly retryAfterSeconds?: number,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = UPLOAD_LIMIT_STATUS[code];
  }

  toJSON(): { code: UploadLimitCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isUploadLimitError(error: unknown): error is UploadLimitError {
  return error instanceof UploadLimitError;
}

const seconds = (ms: number) => {
  const s = Math.round(ms / 1000);
  return `${s} second${s === 1 ? "" : "s"}`;
};

export const tenantBusy = (limit: number, retryAfterSeconds: number) =>
  new UploadLimitError(
    "too_many_uploads",
    `This workspace already has ${limit} upload${limit === 1 ? "" : "s"} in progress, the most it can run at once. Wait for one to finish, then try again.`,
    retryAfterSeconds,
  );

export const serverBusy = (retryAfterSeconds: number) =>
  new UploadLimitError("server_busy", `The server is busy with other uploads. Try again in ${seconds(retryAfterSeconds * 1000)}.`, retryAfterSeconds);

export const idleTimeout = (idleMs: number, received: number) =>
  new UploadLimitError(
    "idle_timeout",
    `The upload stopped: no data arrived for ${seconds(idleMs)} after ${formatBytes(received)}. Check the connection and upload again.`,
  );

export const uploadTooSlow = (deadlineMs: number, received: number) =>
  new UploadLimitError(
    "upload_too_slow",
    `The upload took longer than the ${seconds(deadlineMs)} allowed (${formatBytes(received)} had arrived). Upload from a faster connection, or make the zip smaller.`,
  );

export const insufficientStorage = (cause?: unknown) =>
  new UploadLimitError(
    "insufficient_storage",
    "The server is running out of disk space and cannot take this upload right now. Try again later; if it keeps happening, tell the operator.",
    undefined,
    cause === undefined ? {} : { cause },
  );

/** The kernel's words for a full volume or an exhausted quota. */
export function isNoSpaceError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}
