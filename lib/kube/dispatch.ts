// One HTTP exchange through the connection pool's low-level interface
// (undici's dispatch() with a handler), for the requests and watches sent
// without the typed clients. request() wraps every answer in a Node stream
// whose chunks the caller then reads back out (for a watch, through an async
// iterator: a promise per chunk); dispatch() hands each chunk to a callback
// as it arrives. In the operator's profile the stream machinery was most of
// what undici cost per request and per watch event.
import type { IncomingHttpHeaders } from "node:http";
import type { RequestContext } from "@kubernetes/client-node";

export type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;

export interface ExchangeRequest {
  origin: string;
  /** Path and query. */
  path: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  headers: Record<string, string>;
  body?: string;
}

export interface ExchangeHandler {
  /** The status and headers arrived. */
  onStart(statusCode: number, headers: IncomingHttpHeaders): void;
  onData(chunk: Buffer): void;
  /** The whole answer arrived. */
  onEnd(): void;
  /** The exchange failed or was aborted (with the abort's reason); nothing is called after it. */
  onError(err: Error): void;
}

/** Sends the request; returns a function that aborts it with `reason`, whether it has been sent yet or not. */
export function exchange(dispatcher: Dispatcher, req: ExchangeRequest, handler: ExchangeHandler): (reason: Error) => void {
  let controller: { abort(reason: Error): void } | undefined;
  let pendingAbort: Error | undefined;
  let over = false;
  const end = (fn: () => void): void => {
    if (over) return;
    over = true;
    fn();
  };
  dispatcher.dispatch(
    { origin: req.origin, path: req.path, method: req.method, headers: req.headers, body: req.body ?? null },
    {
      onRequestStart: (c) => {
        controller = c;
        if (pendingAbort) c.abort(pendingAbort);
      },
      onResponseStart: (_c, statusCode, headers) => {
        if (!over) handler.onStart(statusCode, headers);
      },
      onResponseData: (_c, chunk) => {
        if (!over) handler.onData(chunk);
      },
      onResponseEnd: () => end(() => handler.onEnd()),
      onResponseError: (_c, err) => end(() => handler.onError(err)),
    },
  );
  return (reason) => {
    if (over) return;
    if (controller) controller.abort(reason);
    else pendingAbort = reason;
  };
}

/** The whole answer of one request, read under `signal`: aborting it (a deadline) fails the request with the signal's reason. */
export function exchangeText(
  dispatcher: Dispatcher,
  req: ExchangeRequest,
  signal: AbortSignal,
): Promise<{ statusCode: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const chunks: Buffer[] = [];
    let statusCode = 0;
    let headers: IncomingHttpHeaders = {};
    const onAbort = (): void => abort(signal.reason as Error);
    const abort = exchange(dispatcher, req, {
      onStart: (code, h) => {
        statusCode = code;
        headers = h;
      },
      onData: (chunk) => void chunks.push(chunk),
      onEnd: () => {
        signal.removeEventListener("abort", onAbort);
        resolve({ statusCode, headers, text: chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8") });
      },
      onError: (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
