// What the dashboard shows for a site, derived from its StaticSite alone.
// Pure, so the status hub, server-rendered pages and tests agree.

import "server-only";
import {
  CONDITION_DEGRADED,
  CONDITION_PROGRESSING,
  CONDITION_READY,
  findCondition,
  isDigestLive,
  shortDigest,
  type StaticSite,
  type StaticSiteCondition,
} from "@/lib/staticsite/types";

export type SitePhaseName = "Pending" | "Deploying" | "Live" | "Failed" | "Offline";

export interface SitePhase {
  phase: SitePhaseName;
  /** One sentence for a person; for Failed and Deploying it is the operator's own. */
  message: string;
  /** Machine-readable cause (operator condition reason, or one of ours), for icons and tests. */
  reason: string;
  readyReplicas: number;
  replicas: number;
  /** The digest that is serving right now, which may be an older deploy. */
  currentDigest: string | null;
  url: string | null;
}

const short = (digest: string) => `sha256:${shortDigest(digest)}`;

/** A condition written for the object's current generation (a stale one says nothing about now). */
function currentCondition(ss: StaticSite, type: Parameters<typeof findCondition>[1]): StaticSiteCondition | undefined {
  const c = findCondition(ss.status, type);
  if (!c) return undefined;
  const generation = ss.metadata.generation ?? 0;
  return c.observedGeneration === undefined || c.observedGeneration >= generation ? c : undefined;
}

/**
 * `expectedDigest` is the deploy Postgres says is promoted (null: none).
 * Live only when the operator reports exactly that digest rolled out and
 * Ready for the current generation; never earlier.
 */
export function sitePhase(ss: StaticSite | null, expectedDigest: string | null): SitePhase {
  const status = ss?.status;
  const base = {
    readyReplicas: status?.readyReplicas ?? 0,
    replicas: status?.replicas ?? 0,
    currentDigest: status?.currentDigest ?? null,
    url: status?.url ?? null,
  };
  const result = (phase: SitePhaseName, reason: string, message: string): SitePhase => ({ phase, reason, message, ...base });

  if (!ss) return result("Offline", "NotDeployed", "The site is not running: no deploy has been sent to the cluster.");
  if (ss.metadata.deletionTimestamp) return result("Offline", "Deleting", "The site is being taken offline.");
  if (ss.spec.suspend) return result("Offline", "Suspended", "The site is suspended and not serving.");
  if (!expectedDigest) return result("Offline", "NoPromotedDeploy", "No deploy is promoted for this site.");

  if (ss.spec.artifact.digest !== expectedDigest) {
    return result("Pending", "SpecNotUpdated", `Waiting for ${short(expectedDigest)} to reach the cluster.`);
  }
  const generation = ss.metadata.generation ?? 0;
  if (!status || status.observedGeneration === undefined || status.observedGeneration < generation) {
    return result("Pending", "NotObserved", `Waiting for the cluster to pick up ${short(expectedDigest)}.`);
  }

  const degraded = currentCondition(ss, CONDITION_DEGRADED);
  // A deploy that is rolled out and Ready is live even if the operator also
  // reports a problem (e.g. a child it could not update); the problem is shown.
  if (isDigestLive(ss, expectedDigest)) {
    if (degraded?.status === "True") {
      return result("Live", degraded.reason, `${short(expectedDigest)} is live, but: ${degraded.message}`);
    }
    const ready = currentCondition(ss, CONDITION_READY);
    return result("Live", ready?.reason ?? "Available", ready?.message || `${short(expectedDigest)} is live.`);
  }
  if (degraded?.status === "True") return result("Failed", degraded.reason, degraded.message);

  const progressing = currentCondition(ss, CONDITION_PROGRESSING);
  if (progressing?.status === "True") return result("Deploying", progressing.reason, progressing.message);

  // Neither failed nor progressing nor ready: the operator has not settled on
  // anything yet (e.g. conditions of an older generation only).
  const ready = currentCondition(ss, CONDITION_READY);
  return result("Pending", ready?.reason ?? "NotObserved", ready?.message || `Waiting for the cluster to report on ${short(expectedDigest)}.`);
}
