import { clusterConfigured, dashboardKubeConfig, getStatusHub, restoreSites } from "@/lib/k8s/dashboard";
import { allDesiredSites } from "@/lib/cluster/desired";
import { trackRollouts } from "@/lib/cluster/rollout-tracker";
import { componentLogger } from "@/lib/log";

const log = componentLogger("cluster-sync");

const RESTORE_EVERY_MS = 60_000;
const TRACK_EVERY_MS = 1_000;

const globalForSync = globalThis as unknown as { pagodaClusterSync?: { stop(): void } };

/**
 * The dashboard's background duties towards the cluster, once per process:
 * restore every StaticSite from Postgres at start and every minute (a reset
 * or drifted cluster heals itself), and advance deploy states from the
 * status watch.
 */
export function startClusterSync(): void {
  if (globalForSync.pagodaClusterSync || !clusterConfigured()) return;
  const hub = getStatusHub();
  if (!hub) return;
  let restoring = false;
  let tracking = false;

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
  const track = async () => {
    if (tracking) return;
    tracking = true;
    try {
      await trackRollouts(hub);
    } catch (error) {
      log.error({ err: error }, "tracking rollouts failed");
    } finally {
      tracking = false;
    }
  };

  void restore();
  const restoreTimer = setInterval(() => void restore(), RESTORE_EVERY_MS);
  const trackTimer = setInterval(() => void track(), TRACK_EVERY_MS);
  restoreTimer.unref();
  trackTimer.unref();
  globalForSync.pagodaClusterSync = {
    stop() {
      clearInterval(restoreTimer);
      clearInterval(trackTimer);
    },
  };
  log.info("cluster sync started");
}
