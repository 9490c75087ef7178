// Server-sent events for one site, fed by the shared StatusHub: what an SSE
// route returns as its body. It sends the site's phase at once and again
// whenever it changes, the hub's health when it flips, and a comment line
// every so often so that proxies keep the idle connection open. It
// unsubscribes when the browser goes away (abort signal or stream cancel).
import type { StaticSite } from "@/lib/staticsite/types";
import { componentLogger } from "@/lib/log";
import { sitePhase, type SitePhase } from "./site-phase";
import type { StatusHub } from "./status-hub";

const log = componentLogger("k8s-status-stream");

/** The promoted digest from Postgres; asked again whenever the spec's digest changes (a promote elsewhere). */
export type ExpectedDigest = string | null | (() => Promise<string | null>);

export interface SiteStatusStreamOptions {
  namespace: string;
  name: string;
  expectedDigest: ExpectedDigest;
  /** The request's signal: the stream ends and unsubscribes when it aborts. */
  signal?: AbortSignal;
  heartbeatMs?: number;
}

/** `event: <name>` + JSON data, as EventSource parses it. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export interface PhaseEvent extends SitePhase {
  /** False while the hub cannot vouch for its cache (API server unreachable). */
  healthy: boolean;
}

export function siteStatusStream(hub: StatusHub, opts: SiteStatusStreamOptions): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const cleanups: (() => void)[] = [];
  let closed = false;
  let lastSent = "";
  let specDigest: string | undefined;
  let expected: string | null = typeof opts.expectedDigest === "function" ? null : opts.expectedDigest;
  // Updates are handled one at a time, so an expected-digest lookup cannot
  // let an older state overtake a newer one.
  let chain = Promise.resolve();

  const close = (controller?: ReadableStreamDefaultController<Uint8Array>): void => {
    if (closed) return;
    closed = true;
    for (const cleanup of cleanups.splice(0)) cleanup();
    try {
      controller?.close();
    } catch {
      // Already closed or errored by the consumer; nothing left to release.
    }
  };

  return new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string): void => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch (err) {
          log.warn({ namespace: opts.namespace, site: opts.name, err: err instanceof Error ? err.message : String(err) }, "status stream closed while sending");
          close();
        }
      };

      const refresh = async (ss: StaticSite | null): Promise<void> => {
        // Before the first list an absent site means "unknown", not "offline".
        if (!hub.synced()) return;
        const digest = ss?.spec.artifact.digest;
        if (typeof opts.expectedDigest === "function" && (specDigest === undefined || digest !== specDigest)) {
          try {
            expected = await opts.expectedDigest();
          } catch (err) {
            log.error(
              { namespace: opts.namespace, site: opts.name, err: err instanceof Error ? err.message : String(err) },
              "looking up the promoted deploy failed",
            );
          }
        }
        specDigest = digest;
        const event: PhaseEvent = { ...sitePhase(ss, expected), healthy: hub.healthy() };
        const text = sseEvent("phase", event);
        if (text !== lastSent) {
          lastSent = text;
          send(text);
        }
      };
      const enqueue = (ss: StaticSite | null): void => {
        chain = chain.then(() => (closed ? undefined : refresh(ss)));
      };

      if (opts.signal?.aborted) {
        close(controller);
        return;
      }
      const onAbort = () => close(controller);
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      cleanups.push(() => opts.signal?.removeEventListener("abort", onAbort));
      // Subscribe and read in the same tick: no change can fall in between.
      cleanups.push(hub.subscribe(opts.namespace, opts.name, enqueue));
      cleanups.push(
        hub.onHealthChange((healthy) => {
          send(sseEvent("health", { healthy }));
          enqueue(hub.get(opts.namespace, opts.name));
        }),
      );
      const heartbeat = setInterval(() => send(": ping\n\n"), opts.heartbeatMs ?? 15_000);
      heartbeat.unref();
      cleanups.push(() => clearInterval(heartbeat));
      if (!hub.synced()) send(sseEvent("health", { healthy: false }));
      enqueue(hub.get(opts.namespace, opts.name));
    },
    cancel() {
      close();
    },
  });
}
