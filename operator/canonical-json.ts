// One JSON text per value whatever the order of its keys: the applied-hash
// (child-drift.ts) and the status comparison (status.ts) run on every
// reconcile, and building a sorted copy of each object before stringifying it
// was the largest part of the operator's own reconcile logic in a profile.
// The text is exactly what JSON.stringify gives for a copy with sorted keys
// and undefined members left out, so hashes already stored on children stay
// valid.

/** JSON text of `value` with object keys sorted; undefined members (and undefined at the top) as JSON.stringify leaves them. */
export function canonicalJson(value: unknown): string {
  return write(value, false) ?? "undefined";
}

function write(value: unknown, inArray: boolean): string | undefined {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
    case "boolean":
      return JSON.stringify(value);
    case "undefined":
    case "function":
    case "symbol":
      return inArray ? "null" : undefined;
    case "bigint":
      // As JSON.stringify does: a bigint has no JSON form.
      throw new TypeError("Do not know how to serialize a BigInt");
    case "object":
      break;
  }
  // Dates (and the client's MicroTime, a Date) as their JSON form.
  if (value instanceof Date) return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i > 0 ? "," : "") + (write(value[i], true) as string);
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = sortedKeys(obj);
  let out = "{";
  let first = true;
  for (const key of keys) {
    const member = write(obj[key], false);
    if (member === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(key)}:${member}`;
    first = false;
  }
  return `${out}}`;
}

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/**
 * Keys in the order JSON.stringify writes a copy built from them sorted:
 * array-index keys ("0", "17") first in numeric order, then the others
 * sorted, as object property order puts them.
 */
function sortedKeys(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj).sort();
  let indices: string[] | undefined;
  for (const key of keys) {
    const c = key.charCodeAt(0);
    if (c >= 48 && c <= 57 && ARRAY_INDEX.test(key) && Number(key) < 4294967295) (indices ??= []).push(key);
  }
  if (!indices) return keys;
  const rest = keys.filter((k) => !indices.includes(k));
  return [...indices.sort((a, b) => Number(a) - Number(b)), ...rest];
}
