import "server-only";
import { clusterConfigured, dashboardKubeConfig, getStatusHub, restoreSites, type StatusHub } from "@/lib/publishing";
import { allDesiredSites } from "@/lib/publishing/site-inputs";
import { followRollouts } from "@/lib/publishing/follow-rollouts";
import { getConfig } from "@/lib/config";
import { componentLogger } from "@/lib/log";
import { processSingleton } from "@/lib/process-singleton";

const log = componentLogger("cluster-sync");

const RESTORE_EVERY_MS = 60_000;

/**
 * The dashboard's background duties towards the cluster, once per process:
 * restore every StaticSite from Postgres at start and every minute (a reset
 * or drifted cluster heals itself), and advance deploy states when the
 * cluster reports a rollout or the database reports a deploy change.
 */
export function startClusterSync(): void {
  if (!clusterConfigured()) return;
  const hub = getStatusHub();
  if (!hub) return;
  processSingleton("clusterSync", () => syncWith(hub));
}

function syncWith(hub: StatusHub): true {
  let restoring = false;

  const restore = async () => {
    if (restoring) return;
    restoring = true;
    try {
      // Passing the loader lets restore read Postgres after the cluster, so a
      // site published meanwhile cannot be mistaken for an orphan.
      const result = await restoreSites(dashboardKubeConfig(), allDesiredSites);
      const level = result.errors.length > 0 ? "warn" : result.applied + result.deleted > 0 ? "info" : "debug";
      log[level](
        { applied: result.applied, unchanged: result.unchanged, skipped: result.skipped, deleted: result.deleted, errors: result.errors },
        "cluster restored from the database",
      );
    } catch (error) {
      log.error({ err: error }, "restoring the cluster from the database failed");
    } finally {
      restoring = false;
    }
  };

  followRollouts(hub, { connectionString: getConfig().DATABASE_URL });

  void restore();
  const restoreTimer = setInterval(() => void restore(), RESTORE_EVERY_MS);
  restoreTimer.unref();
  log.info("cluster sync started");
  return true;
}
