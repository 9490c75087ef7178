"use client";

import { useSyncExternalStore } from "react";
import { formatExact, formatRelative, formatUtc, RELATIVE_TIME_TICK_MS } from "@/app/_lib/relative-time";

// One timer for every relative time on the page.
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  timer ??= setInterval(() => {
    for (const notify of listeners) notify();
  }, RELATIVE_TIME_TICK_MS);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

// The same value for every read within one tick, as React requires of a snapshot.
const clientNow = () => Math.floor(Date.now() / RELATIVE_TIME_TICK_MS) * RELATIVE_TIME_TICK_MS;
const serverNow = () => null;

/**
 * A point in time as "3 minutes ago" in the viewer's language, with the exact
 * time in the viewer's time zone on hover. The server, which knows neither,
 * renders the UTC time; React swaps in the relative time once the page has
 * hydrated (the server snapshot is used for hydration), so the two renders
 * never disagree.
 */
export function RelativeTime({ iso, className }: { iso: string; className?: string }) {
  const now = useSyncExternalStore(subscribe, clientNow, serverNow);
  const then = new Date(iso);
  if (now === null) {
    return (
      <time dateTime={iso} title={formatUtc(then)} className={className}>
        {formatUtc(then)}
      </time>
    );
  }
  return (
    <time dateTime={iso} title={formatExact(then)} className={className} data-relative="">
      {formatRelative(then, new Date(now))}
    </time>
  );
}
