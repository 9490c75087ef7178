// How every cache, queue and map names a namespaced object. A key is an
// object with named fields, never two loose strings, so that arguments in the
// wrong order cannot compile; keyString is its one string form, for maps and
// for the work queue.
import type { KubernetesObject } from "@kubernetes/client-node";

export interface ObjectKey {
  namespace: string;
  name: string;
}

/** The key of an object as stored; an object without a namespace (a Namespace itself) has namespace "". */
export function keyOf(obj: { metadata?: { namespace?: string; name?: string } } | KubernetesObject): ObjectKey {
  return { namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" };
}

/** "namespace/name", or "name" for a cluster-scoped object. */
export function keyString(key: ObjectKey): string {
  return key.namespace ? `${key.namespace}/${key.name}` : key.name;
}

/** The inverse of keyString for namespaced objects; throws on anything else. */
export function parseKeyString(key: string): ObjectKey {
  const i = key.indexOf("/");
  if (i <= 0 || i === key.length - 1) throw new Error(`malformed object key ${JSON.stringify(key)}: expected "namespace/name"`);
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
