// Derives a StaticSite's status from what the cluster reports (its Deployment
// and Pods). Pure: the reconciler supplies the objects and the clock.
import type { V1ContainerStatus, V1Deployment, V1Pod } from "@kubernetes/client-node";
import {
  ANNOTATION_DIGEST,
  CONDITION_CERTIFICATES,
  CONDITION_DEGRADED,
  CONDITION_PROGRESSING,
  CONDITION_READY,
  shortDigest,
  type ConditionStatus,
  type StaticSite,
  type StaticSiteCondition,
  type StaticSiteConditionType,
  type StaticSiteDomainStatus,
  type StaticSiteStatus,
} from "@/lib/staticsite/types";
import { canonicalJson } from "./canonical-json";
import { desiredReplicas, type Certificate } from "./children";
import type { DomainDecision } from "./hosts";

export interface StatusInputs {
  site: StaticSite;
  deployment: V1Deployment | undefined;
  /** Pods of this site (any template version). */
  pods: readonly V1Pod[];
  url: string;
  /** Set when applying the children failed in this reconcile. */
  applyError?: string;
  /** Set when the spec's rules do not parse (with the file and line): no child was built from them. */
  rulesError?: string;
  /** Hosts the site asks for but does not serve (operator/hosts.ts): HostConflict or HostNotAllowed. */
  hostProblem?: Problem;
  /** The custom domains' states and their condition (domainStatuses); absent for a site without spec.domains. */
  domains?: DomainReport;
  now: Date;
}

/** A reason a person should act on, found in Pod or Deployment state. */
export interface Problem {
  reason: string;
  message: string;
}

const IMAGE_PULL_REASONS = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"]);
const CONFIG_REASONS = new Set(["CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);

export function short(d: string): string {
  return `sha256:${shortDigest(d)}`;
}

export function oneLine(text: string | undefined, max = 300): string {
  const flat = (text ?? "").replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function initProblem(status: V1ContainerStatus, image: string | undefined): Problem | undefined {
  const waiting = status.state?.waiting;
  if (waiting?.reason && IMAGE_PULL_REASONS.has(waiting.reason)) {
    return {
      reason: "ImagePullFailed",
      message: `Cannot pull the artifact fetch image ${image ?? status.image}: ${oneLine(waiting.message) || waiting.reason}`,
    };
  }
  const terminated = status.state?.terminated ?? status.lastState?.terminated;
  if (terminated && terminated.exitCode !== 0) {
    const detail = oneLine(terminated.message) || `exit code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ""}`;
    const retrying = waiting?.reason === "CrashLoopBackOff" ? "; retrying with backoff" : "";
    return { reason: "ArtifactFetchFailed", message: `Fetching the artifact failed: ${detail}${retrying}` };
  }
  if (waiting?.reason && CONFIG_REASONS.has(waiting.reason)) {
    return { reason: "ContainerConfigError", message: `Artifact fetch container cannot start: ${oneLine(waiting.message) || waiting.reason}` };
  }
  return undefined;
}

function mainProblem(status: V1ContainerStatus): Problem | undefined {
  const waiting = status.state?.waiting;
  if (waiting?.reason && IMAGE_PULL_REASONS.has(waiting.reason)) {
    return { reason: "ImagePullFailed", message: `Cannot pull the nginx image ${status.image}: ${oneLine(waiting.message) || waiting.reason}` };
  }
  if (waiting?.reason && CONFIG_REASONS.has(waiting.reason)) {
    return { reason: "ContainerConfigError", message: `nginx container cannot start: ${oneLine(waiting.message) || waiting.reason}` };
  }
  if (waiting?.reason === "CrashLoopBackOff") {
    const last = status.lastState?.terminated;
    const detail = oneLine(last?.message) || (last ? `exit code ${last.exitCode}` : "restarting");
    return { reason: "ServerCrashing", message: `nginx keeps crashing: ${detail}` };
  }
  return undefined;
}

/** The first problem among the pods running `digest`, if any. */
export function podProblem(pods: readonly V1Pod[], digest: string): Problem | undefined {
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    if (pod.metadata?.annotations?.[ANNOTATION_DIGEST] !== digest) continue;
    const initImage = pod.spec?.initContainers?.[0]?.image;
    for (const s of pod.status?.initContainerStatuses ?? []) {
      const p = initProblem(s, initImage);
      if (p) return p;
    }
    for (const s of pod.status?.containerStatuses ?? []) {
      const p = mainProblem(s);
      if (p) return p;
    }
  }
  return undefined;
}

/** Why pods of `digest` are not running yet, when it is not a fault (e.g. no node). */
export function podWaitReason(pods: readonly V1Pod[], digest: string): string | undefined {
  for (const pod of pods) {
    if (pod.metadata?.annotations?.[ANNOTATION_DIGEST] !== digest) continue;
    const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
    if (scheduled?.status === "False") return `pods are waiting to be scheduled: ${oneLine(scheduled.message) || scheduled.reason || "no node available"}`;
    const init = pod.status?.initContainerStatuses?.[0];
    if (init?.state?.running) return "pods are fetching the artifact";
  }
  return undefined;
}

function deploymentProblem(dep: V1Deployment | undefined): Problem | undefined {
  for (const c of dep?.status?.conditions ?? []) {
    if (c.type === "Progressing" && c.status === "False" && c.reason === "ProgressDeadlineExceeded") {
      return { reason: "RolloutStalled", message: `Rollout made no progress within its deadline: ${oneLine(c.message).replace(/\.$/, "")}` };
    }
    if (c.type === "ReplicaFailure" && c.status === "True") {
      return { reason: "PodsRefused", message: `Pods cannot be created: ${oneLine(c.message)}` };
    }
  }
  return undefined;
}

export interface RolloutFacts {
  /** The Deployment reflects its latest spec. */
  observed: boolean;
  templateDigest: string | undefined;
  want: number;
  replicas: number;
  updated: number;
  ready: number;
  available: number;
  /** The spec's digest runs on exactly the wanted number of available, updated pods, and nothing else. */
  complete: boolean;
}

export function rolloutFacts(site: StaticSite, dep: V1Deployment | undefined): RolloutFacts {
  const want = desiredReplicas(site);
  const s = dep?.status;
  const observed = !!dep && (s?.observedGeneration ?? 0) >= (dep.metadata?.generation ?? 1);
  const templateDigest = dep?.spec?.template?.metadata?.annotations?.[ANNOTATION_DIGEST];
  const replicas = s?.replicas ?? 0;
  const updated = s?.updatedReplicas ?? 0;
  const ready = s?.readyReplicas ?? 0;
  const available = s?.availableReplicas ?? 0;
  const complete =
    observed && dep?.spec?.replicas === want && templateDigest === site.spec.artifact.digest && updated === want && available === want && replicas === want;
  return { observed, templateDigest, want, replicas, updated, ready, available, complete };
}

export type ConditionDraft = Pick<StaticSiteCondition, "status" | "reason" | "message">;

export function condition(
  type: StaticSiteConditionType,
  draft: ConditionDraft,
  previous: StaticSiteCondition[] | undefined,
  generation: number | undefined,
  now: Date,
): StaticSiteCondition {
  const prev = previous?.find((c) => c.type === type);
  return {
    type,
    status: draft.status,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    // metav1.Condition semantics: the time the status last flipped.
    lastTransitionTime: prev && prev.status === draft.status ? prev.lastTransitionTime : rfc3339(now),
    reason: draft.reason,
    message: draft.message,
  };
}

export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function c(status: ConditionStatus, reason: string, message: string): ConditionDraft {
  return { status, reason, message };
}

/** How far the operator can take custom domains in this cluster. */
export type TlsMode = "on" | "no-issuer" | "no-cert-manager";

export type CertificateState = { state: "ready" } | { state: "pending"; reason: string } | { state: "failed"; reason: string };

/**
 * A Certificate's state from its conditions. cert-manager copies the failure
 * of the CertificateRequest (and so of the ACME Order behind it) into the
 * Issuing condition's message, which is what a person needs to read.
 */
export function certificateState(cert: Certificate | undefined): CertificateState {
  if (!cert) return { state: "pending", reason: "asking cert-manager for a certificate" };
  const conditions = cert.status?.conditions ?? [];
  const ready = conditions.find((x) => x.type === "Ready");
  if (ready?.status === "True") return { state: "ready" };
  const issuing = conditions.find((x) => x.type === "Issuing");
  if (issuing?.status === "False" && issuing.reason === "Failed") {
    return { state: "failed", reason: oneLine(issuing.message, 900) || "issuance failed" };
  }
  if (cert.status?.lastFailureTime && issuing?.status !== "True") {
    return { state: "failed", reason: oneLine(ready?.message, 900) || "issuance failed; cert-manager retries with backoff" };
  }
  return { state: "pending", reason: oneLine(issuing?.message ?? ready?.message) || "waiting for cert-manager to issue the certificate" };
}

export interface DomainReport {
  domains: StaticSiteDomainStatus[];
  condition: Pick<StaticSiteCondition, "status" | "reason" | "message">;
}

export interface DomainInputs {
  /** spec.domains, in the order written. */
  requested: readonly string[];
  decision: DomainDecision;
  /** The Certificate of a granted domain, from the cache. */
  certificate: (domain: string) => Certificate | undefined;
  mode: TlsMode;
  /** Domains the domain Ingress, as applied, serves with TLS. */
  servingTls: ReadonlySet<string>;
  suspended: boolean;
}

/**
 * One entry per requested domain, and the Certificates condition. Nothing
 * here feeds Ready or Degraded: the site serves on its built-in address
 * whatever happens to a custom domain's certificate.
 */
export function domainStatuses(input: DomainInputs): DomainReport {
  const refused = new Map(input.decision.refused.map((r) => [r.name, r.reason]));
  const granted = new Set(input.decision.granted);
  const out: StaticSiteDomainStatus[] = [];
  const failed: string[] = [];
  let pending = 0;
  const plain =
    input.mode === "no-issuer"
      ? "served over plain HTTP: the operator has no ClusterIssuer configured (PAGODA_OPERATOR_CLUSTER_ISSUER)"
      : "served over plain HTTP: cert-manager is not installed in the cluster";
  for (const name of new Set(input.requested)) {
    const why = refused.get(name);
    if (why !== undefined || !granted.has(name)) {
      out.push({ name, state: "refused", reason: why ?? "not granted" });
      continue;
    }
    if (input.mode !== "on") {
      out.push({ name, state: input.suspended ? "pending-certificate" : "serving", reason: input.suspended ? "the site is suspended" : plain });
      continue;
    }
    const cert = certificateState(input.certificate(name));
    if (cert.state === "failed") {
      failed.push(`${name}: ${cert.reason}`);
      out.push({ name, state: "failed", reason: `${cert.reason}${input.suspended ? "" : "; served over plain HTTP meanwhile"}` });
    } else if (cert.state === "pending") {
      pending++;
      out.push({ name, state: "pending-certificate", reason: cert.reason });
    } else if (input.servingTls.has(name)) {
      out.push({ name, state: "serving", reason: "served over HTTPS" });
    } else {
      out.push({ name, state: "certificate-issued", reason: input.suspended ? "the site is suspended" : "certificate issued; adding it to the Ingress" });
    }
  }
  let condition: DomainReport["condition"];
  if (input.mode === "no-cert-manager") {
    condition = c(
      "False",
      "CertManagerMissing",
      "cert-manager is not installed in the cluster (no cert-manager.io/v1 Certificate kind); custom domains are served over plain HTTP",
    );
  } else if (input.mode === "no-issuer") {
    condition = c("False", "NoIssuer", "The operator has no ClusterIssuer configured; custom domains are served over plain HTTP");
  } else if (failed.length > 0) {
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : "";
    condition = c("False", "IssuanceFailed", `${oneLine(failed[0], 900)}${more}`);
  } else if (pending > 0) {
    condition = c("False", "Issuing", `${pending} of ${granted.size} custom domain certificates are being issued`);
  } else {
    condition = c(
      "True",
      "Issued",
      granted.size > 0 ? `Every granted custom domain has a certificate` : "No custom domain is granted, so none needs a certificate",
    );
  }
  return { domains: out, condition };
}

export function deriveStatus(input: StatusInputs): StaticSiteStatus {
  const { site, deployment: dep, pods, now } = input;
  const digest = site.spec.artifact.digest;
  const generation = site.metadata.generation;
  const facts = rolloutFacts(site, dep);
  const previous = site.status;
  let problem = podProblem(pods, digest) ?? deploymentProblem(dep);
  if (problem?.reason === "RolloutStalled") {
    // A stall is a symptom; say what the pods are waiting for when we know it.
    const wait = podWaitReason(pods, digest);
    if (wait) problem = { ...problem, message: `${problem.message}; ${wait}` };
  }

  let ready: ConditionDraft;
  let progressing: ConditionDraft;
  let degraded: ConditionDraft;
  let currentDigest = previous?.currentDigest;

  if (site.spec.suspend) {
    const drained = facts.observed && facts.replicas === 0;
    ready = c("False", "Suspended", "Site is suspended: scaled to zero and not exposed; set suspend to false to serve it again");
    progressing = drained
      ? c("False", "Suspended", "Site is suspended; all pods are stopped")
      : c("True", "Suspending", `Stopping pods: ${facts.replicas} still running`);
    degraded = c("False", "Suspended", "Site is suspended");
  } else if (!dep) {
    ready = c("False", "Creating", "Creating the site's workload");
    progressing = c("True", "Creating", `Creating the Deployment for ${short(digest)}`);
    degraded = c("False", "AsExpected", "No problems found");
  } else if (facts.complete) {
    currentDigest = digest;
    ready = c("True", "Available", `${facts.available} of ${facts.want} replicas serving ${short(digest)}`);
    progressing = c("False", "RolloutComplete", `${short(digest)} is rolled out`);
    degraded = c("False", "AsExpected", "No problems found");
  } else {
    const serving =
      previous?.currentDigest && previous.currentDigest !== digest && facts.available > 0 ? `; ${short(previous.currentDigest)} keeps serving meanwhile` : "";
    const wait = problem ? undefined : podWaitReason(pods, digest);
    const counts = `${facts.updated} of ${facts.want} replicas updated to ${short(digest)}, ${facts.available} available`;
    const detail = problem ? problem.message : wait ? `${counts}: ${wait}` : counts;
    ready = c("False", problem ? problem.reason : "RollingOut", `${detail}${serving}`);
    progressing =
      problem?.reason === "RolloutStalled"
        ? c("False", "RolloutStalled", problem.message)
        : c("True", "RollingOut", `Rolling out ${short(digest)}: ${counts}${wait ? `; ${wait}` : ""}`);
    degraded = problem ? c("True", problem.reason, problem.message) : c("False", "AsExpected", "No problems found");
  }

  // Outlasts any rollout problem: only a change of spec (or of the other claimant) fixes it.
  if (input.hostProblem && !site.spec.suspend) {
    degraded = c("True", input.hostProblem.reason, input.hostProblem.message);
  }
  if (input.applyError) {
    degraded = c("True", "ApplyFailed", `Updating the site's objects failed: ${oneLine(input.applyError, 500)}`);
  }
  // Its own reason: the site owner's text is what to fix, not the cluster.
  if (input.rulesError) {
    degraded = c("True", "RulesInvalid", `The site's rules are refused, so its last good configuration keeps serving: ${oneLine(input.rulesError, 500)}`);
  }

  const prevConditions = previous?.conditions;
  const status: StaticSiteStatus = {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: [
      condition(CONDITION_READY, ready, prevConditions, generation, now),
      condition(CONDITION_PROGRESSING, progressing, prevConditions, generation, now),
      condition(CONDITION_DEGRADED, degraded, prevConditions, generation, now),
      ...(input.domains ? [condition(CONDITION_CERTIFICATES, input.domains.condition, prevConditions, generation, now)] : []),
    ],
    replicas: facts.replicas,
    readyReplicas: facts.ready,
    url: input.url,
    ...(currentDigest ? { currentDigest, shortDigest: shortDigest(currentDigest) } : {}),
    ...(input.domains ? { domains: input.domains.domains } : {}),
  };
  return status;
}

/** True when writing `next` would change nothing a reader can see: the same JSON, whatever the order of keys. */
export function statusEqual(current: StaticSiteStatus | undefined, next: StaticSiteStatus): boolean {
  return canonicalJson(current ?? {}) === canonicalJson(next);
}

export interface SiteEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** Events for transitions a person should see; steady states emit nothing. */
export function transitionEvents(before: StaticSiteStatus | undefined, after: StaticSiteStatus): SiteEvent[] {
  const find = (s: StaticSiteStatus | undefined, t: StaticSiteConditionType) => s?.conditions?.find((x) => x.type === t);
  const events: SiteEvent[] = [];
  const readyBefore = find(before, CONDITION_READY);
  const readyAfter = find(after, CONDITION_READY);
  const degradedBefore = find(before, CONDITION_DEGRADED);
  const degradedAfter = find(after, CONDITION_DEGRADED);

  if (after.currentDigest && after.currentDigest !== before?.currentDigest) {
    events.push({ type: "Normal", reason: "RolloutComplete", message: `${short(after.currentDigest)} is live` });
  } else if (readyAfter?.status === "True" && readyBefore?.status !== "True") {
    events.push({ type: "Normal", reason: "Ready", message: readyAfter.message });
  }
  if (readyAfter?.reason === "Suspended" && readyBefore?.reason !== "Suspended") {
    events.push({ type: "Normal", reason: "Suspended", message: "Site suspended: scaled to zero and Ingress removed" });
  }
  if (readyBefore?.reason === "Suspended" && readyAfter?.reason !== "Suspended") {
    events.push({ type: "Normal", reason: "Resumed", message: "Site resumed" });
  }
  if (degradedAfter?.status === "True" && (degradedBefore?.status !== "True" || degradedBefore.reason !== degradedAfter.reason)) {
    events.push({ type: "Warning", reason: degradedAfter.reason, message: degradedAfter.message });
  }
  if (degradedBefore?.status === "True" && degradedAfter?.status !== "True") {
    events.push({ type: "Normal", reason: "Recovered", message: `No longer degraded (was: ${degradedBefore.reason})` });
  }
  const certsBefore = find(before, CONDITION_CERTIFICATES);
  const certsAfter = find(after, CONDITION_CERTIFICATES);
  if (certsAfter?.reason === "IssuanceFailed" && (certsBefore?.reason !== "IssuanceFailed" || certsBefore.message !== certsAfter.message)) {
    events.push({ type: "Warning", reason: "CertificateFailed", message: certsAfter.message });
  } else if (certsAfter?.status === "True" && certsBefore?.status !== "True" && certsAfter.reason === "Issued") {
    events.push({ type: "Normal", reason: "CertificatesIssued", message: certsAfter.message });
  }
  return events;
}
