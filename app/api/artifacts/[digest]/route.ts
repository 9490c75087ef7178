import { Readable } from "node:stream";
import type { NextRequest } from "next/server";
import { digestFromHex, verifyArtifactSignature } from "@/lib/artifacts";
import { artifactStore, signingKey } from "@/lib/artifacts/configured";
import { isArtifactReferenced } from "@/lib/artifacts/references";
import type { ErrorBody } from "@/lib/api/schemas";
import { componentLogger } from "@/lib/log";

const log = componentLogger("artifacts");

/**
 * Where a site's pods fetch their artifact. No session: the URL carries an
 * HMAC of the digest instead. A bad or missing signature gets the same 404
 * as an unknown digest, so the endpoint tells strangers nothing; so does a
 * digest no deploy names any more, even while its blob is still stored.
 */
async function serve(request: NextRequest, hex: string, withBody: boolean): Promise<Response> {
  const sig = request.nextUrl.searchParams.get("sig") ?? "";
  if (!verifyArtifactSignature(hex, sig, signingKey())) return notFound();
  const digest = digestFromHex(hex);
  // Only digests a deploy names are served: a deleted site's URLs stop at once,
  // while its blob waits out the grace period (docs/uploads.md).
  if (!(await isArtifactReferenced(digest))) return notFound();
  const etag = `"${digest}"`;
  const headers = {
    "Content-Type": "application/gzip",
    ETag: etag,
    // Content-addressed: the bytes behind this URL can never change.
    "Cache-Control": "public, max-age=31536000, immutable",
  };
  if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
  if (!withBody) {
    const stat = await artifactStore().stat(digest);
    if (!stat) return notFound();
    return new Response(null, { status: 200, headers: { ...headers, "Content-Length": String(stat.size) } });
  }
  const opened = await artifactStore().open(digest);
  if (!opened) return notFound();
  opened.stream.on("error", (error) => log.error({ err: error, digest }, "artifact stream failed"));
  return new Response(Readable.toWeb(opened.stream) as ReadableStream<Uint8Array>, {
    status: 200,
    headers: { ...headers, "Content-Length": String(opened.size) },
  });
}

/** The one error shape, with nothing in it that tells a bad signature from an unknown digest. */
function notFound(): Response {
  return Response.json({ error: { code: "not_found", message: "Not found." } } satisfies ErrorBody, { status: 404 });
}

type Context = { params: Promise<{ digest: string }> };

export async function GET(request: NextRequest, context: Context) {
  return serve(request, (await context.params).digest, true);
}

export async function HEAD(request: NextRequest, context: Context) {
  return serve(request, (await context.params).digest, false);
}
