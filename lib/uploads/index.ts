export { UploadError, UPLOAD_ERROR_STATUS, isUploadError, type UploadErrorCode, type UploadErrorStatus } from "./errors";
export { DEFAULT_UPLOAD_LIMITS, resolveLimits, type UploadLimits } from "./limits";
export { receiveToTempFile, type ReceiveOptions, type ReceivedUpload } from "./receive";
export { processUpload, type ProcessOptions, type ProcessResult } from "./process";
export { UploadLimitError, UPLOAD_LIMIT_STATUS, isUploadLimitError, type UploadLimitCode } from "./limit-error";
export { DEFAULT_ADMISSION_LIMITS, longestUploadMs, type UploadAdmissionLimits } from "./limits";
export { sweepStaleTempDirs, type SweepResult } from "./sweep";
