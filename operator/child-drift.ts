// Decides whether a child needs an apply. Two checks, because each misses
// something the other catches:
// - the applied-hash annotation changes when the operator's own intent changes,
//   including fields it stopped setting (which a subset check cannot see);
// - the subset check finds hand edits of fields the operator sets (which leave
//   the annotation untouched).
import { createHash } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import { ANNOTATION_APPLIED_HASH } from "@/lib/staticsite/types";
import { canonicalJson } from "./canonical-json";

export function objectHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 16);
}

/** Hashes already known for objects built afresh from unchanged inputs (children.ts). */
const knownHashes = new WeakMap<object, string>();

/** Records that `obj` hashes to `hash`: it was built from the same inputs as an object that did. */
export function knownHash(obj: object, hash: string): void {
  knownHashes.set(obj, hash);
}

/** A copy of `desired` carrying the hash of itself in an annotation. */
export function withAppliedHash<T extends KubernetesObject>(desired: T): T {
  const hash = knownHashes.get(desired) ?? objectHash(desired);
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata?.annotations, [ANNOTATION_APPLIED_HASH]: hash },
    },
  };
}

/**
 * True when every field set in `desired` has the same value in `live`. Lists
 * must match in length and element by element; fields the API server
 * defaults (and `live` therefore has in addition) are ignored.
 */
export function containsDesired(desired: unknown, live: unknown): boolean {
  if (desired === undefined) return true;
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return false;
    return desired.every((d, i) => containsDesired(d, live[i]));
  }
  if (desired !== null && typeof desired === "object") {
    if (live === null || typeof live !== "object" || Array.isArray(live)) return false;
    const l = live as Record<string, unknown>;
    const d = desired as Record<string, unknown>;
    for (const k in d) if (Object.hasOwn(d, k) && !containsDesired(d[k], l[k])) return false;
    return true;
  }
  return desired === live;
}

export function needsApply(desiredWithHash: KubernetesObject, live: KubernetesObject | undefined): boolean {
  if (!live) return true;
  // Items of a list response carry no apiVersion/kind; the cache holds such items after every relist.
  const rest: Partial<KubernetesObject> = { ...desiredWithHash };
  delete rest.apiVersion;
  delete rest.kind;
  return !containsDesired(rest, live);
}
