// The REST path of one namespaced object, for requests sent without the typed
// clients (KubeRequester.request). The typed object client finds the plural
// by asking the API server's discovery; a caller that writes a fixed set of
// kinds knows them.

/** A namespaced resource type, e.g. `{ group: "apps", version: "v1", plural: "deployments" }`; the core group is "". */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
}

/** `/api/v1/namespaces/<ns>/<plural>/<name>[/<subresource>]`, or under `/apis/<group>/<version>` for a named group. */
export function objectPath(type: ResourceType, namespace: string, name: string, subresource?: string): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const path = `${base}/namespaces/${encodeURIComponent(namespace)}/${type.plural}/${encodeURIComponent(name)}`;
  return subresource ? `${path}/${subresource}` : path;
}
