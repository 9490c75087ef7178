import "server-only";
import { EventEmitter } from "node:events";
import { processSingleton } from "@/lib/process-singleton";

/**
 * Tells server-sent-event streams that a site's deploy history changed, so
 * the page can refresh it. The rollout tracker feeds it from what this
 * process sees in the database, so every dashboard replica notices a change
 * whoever made it. One per process: instrumentation (which runs the tracker)
 * and the route handlers (which stream to browsers) are separate bundles.
 */
export const deployChanges: EventEmitter<{ changed: [siteId: string] }> = processSingleton("deployChanges", () =>
  new EventEmitter<{ changed: [siteId: string] }>().setMaxListeners(0),
);

/** A promoted deploy that has just become `failed` (its rollout was reported Degraded), as the rollout tracker saw it. */
export interface DeployFailure {
  deployId: string;
  siteId: string;
  reason: string;
}

/**
 * Tells whoever listens (the deploy-failure notice) that a deploy failed.
 * The tracker emits after its write and never waits on a listener: what a
 * listener does runs on its own and cannot slow or break the deploy path.
 */
export const deployFailures: EventEmitter<{ failed: [failure: DeployFailure] }> = processSingleton("deployFailures", () =>
  new EventEmitter<{ failed: [failure: DeployFailure] }>().setMaxListeners(0),
);
