// Kinds whose objects the generic object client (KubernetesObjectApi) passes
// through as the JSON they are. By default it walks every object it sends or
// receives through the generated model of its kind: a copy field by field,
// with date strings turned into Date objects on the way in. For a caller that
// builds its objects as plain JSON and reads them as such (the watch caches
// hold plain JSON anyway), that walk is pure cost: in the operator's profile
// it was about a tenth of its CPU.
//
// The registry is client-node's own and process-wide; it only affects the
// object client, not the typed API classes (CoreV1Api, AppsV1Api, …).
import { ObjectSerializer, type GroupVersionKind } from "@kubernetes/client-node/dist/serializer.js";

const asIs = {
  serialize: (data: unknown) => data,
  deserialize: (data: unknown) => data,
};

/** True once the kind passes through: a probe comes back as the very same object. */
function passesThrough(gvk: GroupVersionKind): boolean {
  const probe = { apiVersion: gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version, kind: gvk.kind, metadata: {} };
  return ObjectSerializer.deserialize(probe, "") === probe;
}

/**
 * Objects of these kinds (and their lists) are sent and returned by the
 * object client as plain JSON. Idempotent: several clients in one process
 * (tests, the benchmark) may ask for the same kinds.
 */
export function keepPlainJson(kinds: readonly GroupVersionKind[]): void {
  for (const gvk of kinds) {
    for (const kind of [gvk.kind, `${gvk.kind}List`]) {
      const one = { ...gvk, kind };
      if (!passesThrough(one)) ObjectSerializer.registerModel(one, asIs);
    }
  }
}
