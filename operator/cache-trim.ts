// What the caches keep of each object. The caches hold every managed object
// for as long as it exists, and every watch event brings a full copy, so
// dropping what the operator never reads as soon as an object arrives keeps
// both the resident set and the garbage per event small.
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";

/**
 * For every kind: managedFields, often the largest part of an object, which
 * nothing here reads (apply sends whole intents, drift compares fields).
 */
export function trimObject(obj: KubernetesObject): void {
  if (obj.metadata) delete obj.metadata.managedFields;
}

/**
 * Pods are only read for status (operator/status.ts: annotations, labels,
 * deletionTimestamp, the init container's image, and status), so the rest of
 * the spec, which repeats the Deployment's template, is dropped.
 */
export function trimPod(pod: V1Pod): void {
  trimObject(pod);
  if (!pod.spec) return;
  const initContainers = pod.spec.initContainers?.map((c) => ({ name: c.name, image: c.image }));
  pod.spec = { containers: [], ...(initContainers ? { initContainers } : {}) };
}
