import { openApiDocument } from "@/lib/api/openapi";

// Generated from the schemas at build time: the same bytes for every caller, no secret and no per-request data in it.
export const dynamic = "force-static";

const body = JSON.stringify(openApiDocument(), null, 2);

/** The OpenAPI 3.1 document of the JSON API; public, so clients and tools can read it without a token. */
export function GET(): Response {
  return new Response(body, {
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "public, max-age=3600",
      "Access-Control-Allow-Origin": "*",
    },
  });
}
