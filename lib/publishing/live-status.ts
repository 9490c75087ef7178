import "server-only";
import { clusterConfigured, getStatusHub, sitePhase, type SitePhaseName } from "@/lib/publishing";
import { tenantNamespace } from "@/lib/tenancy/slug";

/** What the site page shows about a site's life in the cluster. */
export interface LiveStatus {
  phase: SitePhaseName | "NoCluster";
  message: string;
  readyReplicas: number;
  replicas: number;
  /** Digest serving now (may be an older deploy during a rollout). */
  currentDigest: string | null;
}

export function liveStatusOf(tenantSlug: string, siteName: string, targetDigest: string | null): LiveStatus {
  const hub = clusterConfigured() ? getStatusHub() : null;
  if (!hub) {
    return {
      phase: "NoCluster",
      message: "This dashboard is not connected to a Kubernetes cluster, so deploys are stored but cannot go live.",
      readyReplicas: 0,
      replicas: 0,
      currentDigest: null,
    };
  }
  const phase = sitePhase(hub.get(tenantNamespace(tenantSlug), siteName), targetDigest);
  return {
    phase: phase.phase,
    message: phase.message,
    readyReplicas: phase.readyReplicas,
    replicas: phase.replicas,
    currentDigest: phase.currentDigest,
  };
}

/**
 * The phase to show next to a site in the site list, or null while this
 * process has not yet heard from the cluster (every site would look offline).
 */
export function listPhaseOf(tenantSlug: string, siteName: string, targetDigest: string | null): LiveStatus["phase"] | null {
  const hub = clusterConfigured() ? getStatusHub() : null;
  if (hub && !hub.synced()) return null;
  return liveStatusOf(tenantSlug, siteName, targetDigest).phase;
}
