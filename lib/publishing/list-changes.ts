// What an open site list needs to hear from the status watch: that a row's
// badge may read differently now. During a rollout the operator writes a
// site's status many times (replica counts, progress messages, observed
// generations) while its phase stays "Deploying"; passing each write on made
// every open list reload itself once a second for as long as rollouts ran.

import "server-only";
import type { StaticSite } from "@/lib/staticsite/types";
import { sitePhase } from "./site-phase";
import type { StatusHub } from "./status-hub";

/**
 * What a row shows, as far as the cluster decides it: the phase towards the
 * digest the cluster was asked to run. The list compares with the digest
 * Postgres promotes, so a new digest counts as a change too.
 */
function shown(site: StaticSite | null): string {
  if (!site) return "absent";
  const digest = site.spec.artifact.digest;
  return `${digest}\n${sitePhase(site, digest).phase}`;
}

/**
 * A filter over one namespace's site changes, seeded with the sites as the
 * list was rendered from: true when a change may alter what a row shows.
 */
export function listChangeFilter(rendered: readonly StaticSite[]): (name: string, site: StaticSite | null) => boolean {
  const last = new Map(rendered.map((site) => [site.metadata.name, shown(site)]));
  return (name, site) => {
    const now = shown(site);
    if (last.get(name) === now) return false;
    last.set(name, now);
    return true;
  };
}

/** Calls `listener` with a site's name whenever its row in `namespace`'s site list may read differently; returns the unsubscribe. */
export function followListChanges(hub: StatusHub, namespace: string, listener: (name: string) => void): () => void {
  // Seeded and subscribed in one tick: no change can fall in between.
  const changed = listChangeFilter(hub.list(namespace));
  return hub.subscribeNamespace(namespace, (name, site) => {
    if (changed(name, site)) listener(name);
  });
}
