// Server-sent events: the one place that formats them, sets their headers,
// keeps an idle stream open and releases what a stream holds when the browser
// goes away. Routes say only what to subscribe to (see the two SSE routes).
import { componentLogger } from "@/lib/log";

const log = componentLogger("sse");

/** Response headers of every server-sent-event stream: no caching, and no buffering by a proxy in front. */
export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  Connection: "keep-alive",
  "X-Accel-Buffering": "no",
} as const;

/** How often a stream sends a comment line, so that proxies keep an idle one open. */
export const SSE_KEEPALIVE_MS = 15_000;
/** A comment line: EventSource ignores it. */
export const SSE_KEEPALIVE = ": ping\n\n";

/** `event: <name>` + JSON data, as EventSource parses it. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export interface SseSink {
  /** Sends one event; does nothing once the stream is closed. */
  send(event: string, data: unknown): void;
  /** Runs `release` once when the stream closes (at once if it already has): to unsubscribe what feeds it. */
  onClose(release: () => void): void;
}

/** Subscribes what the stream reports; may be async (a first value read from the database). */
export type SseStart = (sink: SseSink) => void | Promise<void>;

export interface SseOptions {
  keepaliveMs?: number;
  /** Named in the log when sending fails. */
  context?: Record<string, unknown>;
}

/**
 * An event stream that `start` feeds through the sink. It ends when `signal`
 * aborts (the request's: the browser left), when the reader cancels or when
 * `start` fails; then every release registered with onClose runs, once.
 */
export function sseStream(signal: AbortSignal, start: SseStart, opts: SseOptions = {}): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let closed = false;
  const releases: (() => void)[] = [];
  let keepalive: NodeJS.Timeout | undefined;
  let controllerOf: ReadableStreamDefaultController<Uint8Array> | undefined;

  const close = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(keepalive);
    signal.removeEventListener("abort", close);
    for (const release of releases.splice(0)) {
      try {
        release();
      } catch (err) {
        log.error({ ...opts.context, err }, "releasing an event stream's subscription failed");
      }
    }
    try {
      controllerOf?.close();
    } catch {
      // Already closed or errored by the consumer; nothing left to release.
    }
  };

  const write = (text: string): void => {
    if (closed || !controllerOf) return;
    try {
      controllerOf.enqueue(encoder.encode(text));
    } catch (err) {
      log.warn({ ...opts.context, err: err instanceof Error ? err.message : String(err) }, "event stream closed while sending");
      close();
    }
  };

  return new ReadableStream<Uint8Array>({
    async start(controller) {
      controllerOf = controller;
      if (signal.aborted) {
        close();
        return;
      }
      signal.addEventListener("abort", close, { once: true });
      keepalive = setInterval(() => write(SSE_KEEPALIVE), opts.keepaliveMs ?? SSE_KEEPALIVE_MS);
      keepalive.unref();
      const sink: SseSink = {
        send: (event, data) => write(sseEvent(event, data)),
        onClose: (release) => {
          if (closed) release();
          else releases.push(release);
        },
      };
      try {
        await start(sink);
      } catch (err) {
        log.error({ ...opts.context, err }, "starting an event stream failed");
        close();
      }
    },
    cancel() {
      close();
    },
  });
}

/** The HTTP response of an event stream: see sseStream. */
export function sseResponse(signal: AbortSignal, start: SseStart, opts: SseOptions = {}): Response {
  return new Response(sseStream(signal, start, opts), { headers: SSE_HEADERS });
}
