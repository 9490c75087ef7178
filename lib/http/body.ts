import { ApiError } from "@/lib/http/errors";

/** Bodies of every JSON and form route; uploads have their own, larger, limits. */
export const DEFAULT_BODY_LIMIT = 16_384;

const tooLarge = (maxBytes: number) =>
  new ApiError(413, "too_large", `The request body is larger than the ${maxBytes.toLocaleString("en")} bytes this endpoint accepts.`);

/**
 * Reads a request body, refusing it with 413 as soon as more than `maxBytes`
 * have arrived. A declared Content-Length over the limit is refused before a
 * byte is read; a missing or lying one is caught by counting, so a chunked
 * body cannot get past the limit either. Stops reading (and cancels the
 * stream) at the first byte over, so a 20 MB body costs us `maxBytes`.
 */
export async function readBodyLimited(request: Request, maxBytes = DEFAULT_BODY_LIMIT): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      // The rest of the body is abandoned either way; a failed cancel changes nothing.
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** The body as UTF-8 text, under the same limit. */
export async function readTextLimited(request: Request, maxBytes = DEFAULT_BODY_LIMIT): Promise<string> {
  return new TextDecoder().decode(await readBodyLimited(request, maxBytes));
}

/** Reads a JSON object body, with a clear 400 when it is not one and 413 when it is too large. */
export async function readJson(request: Request, maxBytes = DEFAULT_BODY_LIMIT): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.includes("application/json")) {
    throw new ApiError(415, "unsupported_media_type", "Send the request body as application/json.");
  }
  const text = await readTextLimited(request, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid JSON.");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ApiError(400, "invalid_json", "The request body must be a JSON object.");
  }
  return value;
}
