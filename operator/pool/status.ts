// The status of a site served by the shared pool, from what the pool's
// replicas report serving (operator/pool/replicas.ts), never from what they
// were asked to serve. Pure: the reconciler supplies the reports and the clock.
import {
  CONDITION_CERTIFICATES,
  CONDITION_DEGRADED,
  CONDITION_PROGRESSING,
  CONDITION_READY,
  shortDigest,
  type StaticSite,
  type StaticSiteStatus,
} from "@/lib/staticsite/types";
import { c, condition, oneLine, short, type ConditionDraft, type DomainReport, type Problem } from "../status";
import type { PoolState, ServedSite } from "./protocol";

/** One pool pod as the operator last heard from it. */
export interface ReplicaReport {
  pod: string;
  /** The pod is Ready and its agent's last answer is current (the operator is in touch with it). */
  ready: boolean;
  /** Its agent's last state; undefined until it answered once. */
  state: PoolState | undefined;
}

export interface SharedStatusInputs {
  site: StaticSite;
  url: string;
  /** PAGODA_OPERATOR_POOL_IMAGE is set. */
  poolConfigured: boolean;
  replicas: readonly ReplicaReport[];
  /** The hosts the site holds (operator/hosts.ts): a replica serves the site only when it answers on all of them. */
  hosts: readonly string[];
  hostProblem?: Problem;
  applyError?: string;
  domains?: DomainReport;
  now: Date;
}

export const DOMAINS_WITHOUT_POOL = "not served: the operator has no serving pool (PAGODA_OPERATOR_POOL_IMAGE is not set)";

/** Every requested domain refused: without a pool, nothing serves a shared site. */
export function sharedDomainReport(requested: readonly string[]): DomainReport {
  return {
    domains: [...new Set(requested)].map((name) => ({ name, state: "refused" as const, reason: DOMAINS_WITHOUT_POOL })),
    condition: c("False", "PoolNotConfigured", "Custom domains of a shared site need the serving pool, and the operator has none configured"),
  };
}

function servedBy(report: ReplicaReport, key: string): ServedSite | undefined {
  return report.state?.sites.find((s) => s.key === key);
}

function servesSpec(served: ServedSite | undefined, digest: string, hosts: readonly string[]): boolean {
  return !!served && served.digest === digest && hosts.every((h) => served.hosts.includes(h));
}

/** Every ready replica (at least one) serves `digest` for the site on all its hosts. */
export function poolServesSite(replicas: readonly ReplicaReport[], key: string, digest: string, hosts: readonly string[]): boolean {
  const ready = replicas.filter((r) => r.ready && r.state);
  return ready.length > 0 && ready.every((r) => servesSpec(servedBy(r, key), digest, hosts));
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The contract:
 * - `replicas`: ready pool replicas (Ready pods whose agent the operator is
 *   in touch with); `readyReplicas`: those serving the spec's digest on
 *   every host the site holds.
 * - `currentDigest` becomes the spec's digest only when every ready replica
 *   serves it, and there is at least one; until then the previous stays.
 * - Ready=True (Available) exactly then. Otherwise the reason says why:
 *   PoolNotConfigured (no pool image), PoolUnavailable (no ready replica),
 *   the agent's own error reason (ArtifactFetchFailed, ArtifactInvalid,
 *   ConfigInvalid, with its message; the old version keeps serving), or
 *   RollingOut while replicas catch up. Degraded carries the same faults,
 *   then host problems, then a failed apply, as for dedicated sites.
 */
export function deriveSharedStatus(input: SharedStatusInputs): StaticSiteStatus {
  const { site, now } = input;
  const key = `${site.metadata.namespace}/${site.metadata.name}`;
  const digest = site.spec.artifact.digest;
  const generation = site.metadata.generation;
  const previous = site.status;
  const ready = input.replicas.filter((r) => r.ready && r.state);
  const serving = ready.filter((r) => servesSpec(servedBy(r, key), digest, input.hosts));
  const servingAny = ready.filter((r) => servedBy(r, key)?.digest);
  let currentDigest = previous?.currentDigest;
  let readyC: ConditionDraft;
  let progressing: ConditionDraft;
  let degraded: ConditionDraft;
  const none = c("False", "AsExpected", "No problems found");

  if (!input.poolConfigured) {
    const message =
      "This site asks for serving: shared, but the operator has no serving pool (PAGODA_OPERATOR_POOL_IMAGE is not set); configure the pool or set serving to dedicated";
    readyC = c("False", "PoolNotConfigured", message);
    progressing = c("False", "PoolNotConfigured", message);
    degraded = c("True", "PoolNotConfigured", message);
  } else if (site.spec.suspend) {
    readyC = c("False", "Suspended", "Site is suspended: not served; set suspend to false to serve it again");
    progressing =
      servingAny.length === 0
        ? c("False", "Suspended", "Site is suspended; no pool replica serves it")
        : c("True", "Suspending", `Withdrawing the site from the pool: ${plural(servingAny.length, "replica")} still serve it`);
    degraded = c("False", "Suspended", "Site is suspended");
  } else if (ready.length === 0) {
    const known = input.replicas.length;
    const message = `No pool replica is ready to serve (${plural(known, "pool pod")} known, none ready and answering); the site is not served by the pool until one is`;
    readyC = c("False", "PoolUnavailable", message);
    progressing = c("True", "PoolUnavailable", message);
    degraded = c("True", "PoolUnavailable", message);
  } else if (serving.length === ready.length) {
    currentDigest = digest;
    readyC = c("True", "Available", `${serving.length} of ${ready.length} pool replicas serving ${short(digest)}`);
    progressing = c("False", "RolloutComplete", `${short(digest)} is rolled out`);
    degraded = none;
  } else {
    const failing = ready.map((r) => servedBy(r, key)?.error).find((e) => e !== undefined);
    const counts = `${serving.length} of ${ready.length} pool replicas serve ${short(digest)}`;
    const keeps =
      previous?.currentDigest && previous.currentDigest !== digest && servingAny.length > 0 ? `; ${short(previous.currentDigest)} keeps serving meanwhile` : "";
    if (failing) {
      const message = `${oneLine(failing.message, 500)} (${counts})${keeps}`;
      readyC = c("False", failing.reason, message);
      degraded = c("True", failing.reason, message);
    } else {
      readyC = c("False", "RollingOut", `${counts}${keeps}`);
      degraded = none;
    }
    progressing = c("True", "RollingOut", `Rolling out ${short(digest)} to the pool: ${counts}`);
  }

  if (input.poolConfigured && input.hostProblem && !site.spec.suspend) degraded = c("True", input.hostProblem.reason, input.hostProblem.message);
  if (input.applyError) degraded = c("True", "ApplyFailed", `Updating the site's objects failed: ${oneLine(input.applyError, 500)}`);

  const prev = previous?.conditions;
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: [
      condition(CONDITION_READY, readyC, prev, generation, now),
      condition(CONDITION_PROGRESSING, progressing, prev, generation, now),
      condition(CONDITION_DEGRADED, degraded, prev, generation, now),
      ...(input.domains ? [condition(CONDITION_CERTIFICATES, input.domains.condition, prev, generation, now)] : []),
    ],
    replicas: ready.length,
    readyReplicas: serving.length,
    url: input.url,
    ...(currentDigest ? { currentDigest, shortDigest: shortDigest(currentDigest) } : {}),
    ...(input.domains ? { domains: input.domains.domains } : {}),
  };
}
