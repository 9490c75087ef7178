/** Response headers of every server-sent-event stream: no caching, and no buffering by a proxy in front. */
export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  Connection: "keep-alive",
  "X-Accel-Buffering": "no",
} as const;

/** How often an idle stream sends a comment line, so that proxies keep it open. */
export const SSE_KEEPALIVE_MS = 15_000;
export const SSE_KEEPALIVE = ": keepalive\n\n";
