"use client";

import { getCsrfToken } from "next-auth/react";

export interface UploadFailure {
  status: number;
  code: string;
  message: string;
  entry?: string;
}

/**
 * Sends a zip with XMLHttpRequest, because fetch cannot report upload
 * progress. `onProgress` gets bytes sent / total; `onSent` fires when the
 * last byte left and the server starts processing. The zip is a chosen file
 * or one zipped in the page; either way a Blob of known size, so the request
 * carries its Content-Length.
 */
export async function uploadZip(
  url: string,
  file: Blob,
  handlers: { onProgress(sent: number, total: number): void; onSent(): void },
): Promise<{ ok: true; body: unknown } | { ok: false; error: UploadFailure }> {
  const csrf = await getCsrfToken();
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("content-type", "application/zip");
    if (csrf) xhr.setRequestHeader("x-csrf-token", csrf);
    xhr.upload.onprogress = (event) => handlers.onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.upload.onload = () => handlers.onSent();
    xhr.onerror = () =>
      resolve({ ok: false, error: { status: 0, code: "network", message: "The upload was interrupted. Check your connection and try again." } });
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText) as unknown;
      } catch {
        // A proxy's HTML error page, for example; the status still tells what happened.
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve({ ok: true, body });
      const error = (body as { error?: Partial<UploadFailure> } | null)?.error;
      resolve({
        ok: false,
        error: {
          status: xhr.status,
          code: error?.code ?? "unknown",
          message: error?.message ?? (xhr.status === 413 ? "The file is too large." : `The upload failed (HTTP ${xhr.status}).`),
          ...(error?.entry ? { entry: error.entry } : {}),
        },
      });
    };
    xhr.send(file);
  });
}
