import "server-only";
import { statusMayAdvance, trackRollouts } from "@/lib/publishing/rollout-tracker";
import { SiteCheckQueue } from "@/lib/publishing/site-check-queue";
import { DeployChangeFeed } from "@/lib/publishing/deploy-change-feed";
import type { StatusHub } from "@/lib/publishing";
import { LABEL_TENANT } from "@/lib/staticsite/types";
import { tenantOfNamespace } from "@/lib/tenancy/slug";

/** During a burst of rollouts, at most four passes a second (SiteCheckQueue's gap); a lone change is still checked at once. */
export const PASS_GAP_MS = 250;

export interface FollowRolloutsOptions {
  /** The database whose deploy notifications to listen to. */
  connectionString: string;
  /** The least time between the starts of two passes (PASS_GAP_MS). */
  passGapMs?: number;
  /**
   * Rollouts are followed by events (the status watch and the database's
   * notifications); this periodic pass over every site only catches what a
   * dropped connection missed.
   */
  sweepEveryMs?: number;
  feedBackoffBaseMs?: number;
}

export interface RolloutFollower {
  /** Resolves once no check is waiting or running. */
  idle(): Promise<void>;
  feedListening(): boolean;
  stop(): Promise<void>;
}

/**
 * Advances deploy states as soon as either side reports a change: the
 * cluster (a StaticSite's status, through the hub) or the database (a deploy
 * written or a target promoted, by this or any other dashboard replica).
 */
export function followRollouts(hub: StatusHub, opts: FollowRolloutsOptions): RolloutFollower {
  const tracker = new SiteCheckQueue((sites) => trackRollouts(hub, sites), { minGapMs: opts.passGapMs ?? PASS_GAP_MS });
  const unsubscribe = hub.subscribeAll((namespace, name, site) => {
    const tenantSlug = site ? (site.metadata.labels?.[LABEL_TENANT] ?? tenantOfNamespace(namespace)) : null;
    // Progress reports of a rollout change no row: only the one that can is worth a query.
    if (tenantSlug && statusMayAdvance(hub, tenantSlug, name)) tracker.check({ tenantSlug, name });
  });
  const feed = new DeployChangeFeed({
    connectionString: opts.connectionString,
    onChange: (siteId) => tracker.check({ siteId }),
    onListening: () => tracker.checkAll(),
    ...(opts.feedBackoffBaseMs !== undefined ? { backoffBaseMs: opts.feedBackoffBaseMs } : {}),
  });
  feed.start();
  // Also once the hub has its first list: until then every site looks unknown.
  void hub.whenSynced().then(() => tracker.checkAll());
  const sweepTimer = setInterval(() => tracker.checkAll(), opts.sweepEveryMs ?? 30_000);
  sweepTimer.unref();
  return {
    idle: () => tracker.idle(),
    feedListening: () => feed.listening(),
    async stop() {
      clearInterval(sweepTimer);
      unsubscribe();
      await feed.stop();
      await tracker.idle();
    },
  };
}
