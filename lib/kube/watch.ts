// A watch request read as a Node stream from the connection pool's
// dispatcher. client-node's Watch reads every watch through fetch(): a
// WHATWG response body, turned back into a Node stream, split by readline.
// Watches carry every event the caches see, so that path costs on each one;
// here the answer's body is a plain Node stream and lines are split as the
// bytes arrive. Same contract as client-node's Watch: `done` is called once,
// with the error or null when the stream ended, and a watch that delivers
// nothing for 30 s is aborted with a TimeoutError (a dead connection must
// not look like a quiet one for good).
import { STATUS_CODES } from "node:http";
import { RequestContext, Watch, type KubeConfig } from "@kubernetes/client-node";

/** Inactivity limit of a watch, as client-node's: the API server sends bookmarks more often than this. */
const INACTIVITY_MS = 30_000;

const NEWLINE = 0x0a;

export type WatchCallback = (type: string, object: unknown) => void;

export class KubeWatch {
  private readonly fallback: Watch;

  constructor(private readonly kc: KubeConfig) {
    this.fallback = new Watch(kc);
  }

  /** Starts a watch of `path`; resolves with the controller that ends it once the API server answered or the request failed. */
  async watch(
    path: string,
    query: Record<string, string | boolean | undefined>,
    callback: WatchCallback,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error("no Kubernetes cluster configured in the kubeconfig");
    const url = new URL(cluster.server + path);
    url.searchParams.set("watch", "true");
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    const context = new RequestContext(url.toString(), "GET");
    await this.kc.applySecurityAuthentication(context);
    const dispatcher = context.getDispatcher();
    // Without TLS settings client-node leaves the request to undici's global dispatcher, which only its fetch() reaches.
    if (!dispatcher) return this.fallback.watch(path, query, callback, done);

    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (err: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      controller.abort();
      done(err);
    };
    const resetTimer = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const timeout = new DOMException("The operation was aborted due to timeout", "TimeoutError");
        controller.abort(timeout);
        finish(timeout);
      }, INACTIVITY_MS);
      timer.unref();
    };
    // Resolves once the API server answered (or the request failed, after `done`), as client-node's Watch does.
    try {
      resetTimer();
      const answer = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: "GET",
        headers: context.getHeaders(),
        signal: controller.signal,
      });
      if (answer.statusCode !== 200) {
        answer.body.resume();
        throw Object.assign(new Error(STATUS_CODES[answer.statusCode] ?? "Internal Server Error"), { statusCode: answer.statusCode });
      }
      resetTimer();
      readEvents(answer.body as AsyncIterable<Buffer>, resetTimer, callback).then(
        () => finish(null),
        (err: unknown) => finish(err),
      );
    } catch (err) {
      finish(err);
    }
    return controller;
  }
}

/** Calls `callback` for each event line of the body; `onData` for every chunk. Resolves when the body ends. */
async function readEvents(body: AsyncIterable<Buffer>, onData: () => void, callback: WatchCallback): Promise<void> {
  let pending: Buffer | undefined;
  const line = (bytes: Buffer): void => {
    if (bytes.length === 0) return;
    let event: { type?: unknown; object?: unknown };
    try {
      event = JSON.parse(bytes.toString("utf8")) as { type?: unknown; object?: unknown };
    } catch {
      // Not a whole event; client-node's Watch skips these too.
      return;
    }
    callback(String(event.type), event.object);
  };
  for await (const chunk of body) {
    onData();
    let start = 0;
    let end = chunk.indexOf(NEWLINE);
    if (end !== -1 && pending) {
      line(Buffer.concat([pending, chunk.subarray(0, end)]));
      pending = undefined;
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    while (end !== -1) {
      line(chunk.subarray(start, end));
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) pending = pending ? Buffer.concat([pending, chunk.subarray(start)]) : chunk.subarray(start);
  }
  if (pending) line(pending);
}
