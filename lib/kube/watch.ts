// A watch request read straight from the connection pool's dispatcher.
// client-node's Watch reads every watch through fetch(): a WHATWG response
// body, turned back into a Node stream, split by readline. Watches carry
// every event the caches see, so that path costs on each one; here each
// chunk is handed over as it arrives (lib/kube/dispatch.ts) and split into
// lines at once. Same contract as client-node's Watch: `done` is called once,
// with the error or null when the stream ended, and a watch that delivers
// nothing for 30 s is aborted with a TimeoutError (a dead connection must
// not look like a quiet one for good).
import { STATUS_CODES } from "node:http";
import { RequestContext, Watch, type KubeConfig } from "@kubernetes/client-node";
import { exchange } from "./dispatch";

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
    let finished = false;
    const finish = (err: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      controller.abort();
      done(err);
    };
    // One timer, pushed back on every chunk: refresh() costs less than a new timer per event.
    const timer = setTimeout(() => {
      const timeout = new DOMException("The operation was aborted due to timeout", "TimeoutError");
      controller.abort(timeout);
      finish(timeout);
    }, INACTIVITY_MS);
    timer.unref();
    const resetTimer = (): void => void timer.refresh();
    // Resolves once the API server answered (or the request failed, after `done`), as client-node's Watch does.
    let resolve!: (controller: AbortController) => void;
    const answered = new Promise<AbortController>((r) => (resolve = r));
    const lines = new LineSplitter(callback);
    const abort = exchange(
      dispatcher,
      { origin: url.origin, path: `${url.pathname}${url.search}`, method: "GET", headers: context.getHeaders() },
      {
        onStart: (statusCode) => {
          // Refused (410 Gone among others): the body is not read, and finishing aborts the exchange.
          if (statusCode !== 200) finish(Object.assign(new Error(STATUS_CODES[statusCode] ?? "Internal Server Error"), { statusCode }));
          else if (!finished) resetTimer();
          resolve(controller);
        },
        onData: (chunk) => {
          if (finished) return;
          resetTimer();
          lines.push(chunk);
        },
        onEnd: () => {
          if (!finished) lines.end();
          finish(null);
          resolve(controller);
        },
        onError: (err) => {
          finish(err);
          resolve(controller);
        },
      },
    );
    controller.signal.addEventListener(
      "abort",
      () => abort(controller.signal.reason instanceof Error ? controller.signal.reason : new Error("watch stopped")),
      {
        once: true,
      },
    );
    return answered;
  }
}

/** Splits the body into event lines as chunks arrive and hands each event to `callback`. */
class LineSplitter {
  private pending: Buffer | undefined;

  constructor(private readonly callback: WatchCallback) {}

  push(chunk: Buffer): void {
    let start = 0;
    let end = chunk.indexOf(NEWLINE);
    if (end !== -1 && this.pending) {
      this.line(Buffer.concat([this.pending, chunk.subarray(0, end)]));
      this.pending = undefined;
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    while (end !== -1) {
      this.line(chunk.subarray(start, end));
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) this.pending = this.pending ? Buffer.concat([this.pending, chunk.subarray(start)]) : chunk.subarray(start);
  }

  end(): void {
    if (this.pending) this.line(this.pending);
    this.pending = undefined;
  }

  private line(bytes: Buffer): void {
    if (bytes.length === 0) return;
    let event: { type?: unknown; object?: unknown };
    try {
      event = JSON.parse(bytes.toString("utf8")) as { type?: unknown; object?: unknown };
    } catch {
      // Not a whole event; client-node's Watch skips these too.
      return;
    }
    this.callback(String(event.type), event.object);
  }
}
