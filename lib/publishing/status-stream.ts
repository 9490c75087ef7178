// A site's live status for a browser, fed by the shared StatusHub: the
// site's phase at once and again whenever it changes, and the hub's health
// when it flips. lib/http/sse.ts turns these events into a stream.

import "server-only";
import type { StaticSite } from "@/lib/staticsite/types";
import { componentLogger } from "@/lib/log";
import { sitePhase, type SitePhase } from "./site-phase";
import type { StatusHub } from "./status-hub";

const log = componentLogger("k8s-status-stream");

/** The promoted digest from Postgres; asked again whenever the spec's digest changes (a promote elsewhere). */
export type ExpectedDigest = string | null | (() => Promise<string | null>);

export interface SiteStatusOptions {
  namespace: string;
  name: string;
  expectedDigest: ExpectedDigest;
}

export interface PhaseEvent extends SitePhase {
  /** False while the hub cannot vouch for its cache (API server unreachable). */
  healthy: boolean;
}

export type SiteStatusEvent = { event: "phase"; data: PhaseEvent } | { event: "health"; data: { healthy: boolean } };

/**
 * Reports one site's status to `emit` until the returned function is called.
 * A phase is reported only when it differs from the last one.
 */
export function followSiteStatus(
  hub: StatusHub,
  opts: SiteStatusOptions,
  emit: (event: SiteStatusEvent["event"], data: SiteStatusEvent["data"]) => void,
): () => void {
  const cleanups: (() => void)[] = [];
  let stopped = false;
  let lastSent = "";
  let specDigest: string | undefined;
  let expected: string | null = typeof opts.expectedDigest === "function" ? null : opts.expectedDigest;
  // Updates are handled one at a time, so an expected-digest lookup cannot
  // let an older state overtake a newer one.
  let chain = Promise.resolve();

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
    const text = JSON.stringify(event);
    if (text !== lastSent && !stopped) {
      lastSent = text;
      emit("phase", event);
    }
  };
  const enqueue = (ss: StaticSite | null): void => {
    chain = chain.then(() => (stopped ? undefined : refresh(ss)));
  };

  // Subscribe and read in the same tick: no change can fall in between.
  cleanups.push(hub.subscribe(opts.namespace, opts.name, enqueue));
  cleanups.push(
    hub.onHealthChange((healthy) => {
      if (!stopped) emit("health", { healthy });
      enqueue(hub.get(opts.namespace, opts.name));
    }),
  );
  if (!hub.synced()) emit("health", { healthy: false });
  enqueue(hub.get(opts.namespace, opts.name));
  return () => {
    stopped = true;
    for (const cleanup of cleanups.splice(0)) cleanup();
  };
}
