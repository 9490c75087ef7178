// What the caches keep of each object. The caches hold every managed object
// for as long as it exists, and every watch event brings a full copy, so
// dropping what the operator never reads as soon as an object arrives keeps
// the resident set small. These are the informer's `transform`: each returns
// a trimmed copy (sharing what it keeps) and leaves its argument alone.
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";

/**
 * For every kind: managedFields, often the largest part of an object, which
 * nothing here reads (apply sends whole intents, drift compares fields).
 */
export function trimObject<T extends KubernetesObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const metadata = { ...obj.metadata };
  delete metadata.managedFields;
  return { ...obj, metadata };
}

/**
 * Pods are only read for status (operator/status.ts: annotations, labels,
 * deletionTimestamp, the init container's image, and status), so the rest of
 * the spec, which repeats the Deployment's template, is dropped.
 */
export function trimPod(pod: V1Pod): V1Pod {
  const trimmed = trimObject(pod);
  if (!pod.spec) return trimmed;
  const initContainers = pod.spec.initContainers?.map((c) => ({ name: c.name, image: c.image }));
  return { ...trimmed, spec: { containers: [], ...(initContainers ? { initContainers } : {}) } };
}
