// A small YAML emitter for JSON-shaped data. The client's dumpYaml runs objects
// through its typed serializer, which drops the wire names of CRD schema
// extensions (x-kubernetes-validations, ...); manifests need them verbatim.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// Plain scalars only when YAML cannot read them as anything but this string.
const PLAIN = /^[A-Za-z_/][A-Za-z0-9 ._/()-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;

function scalar(value: string | number | boolean | null): string {
  if (value === null) return "null";
  if (typeof value !== "string") return String(value);
  if (PLAIN.test(value) && !RESERVED.test(value) && !value.endsWith(" ")) return value;
  return JSON.stringify(value);
}

function key(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k) && !RESERVED.test(k) ? k : JSON.stringify(k);
}

function isEmpty(value: Json): boolean {
  return typeof value === "object" && value !== null && Object.keys(value).length === 0;
}

function emit(value: Json, indent: string): string[] {
  if (Array.isArray(value)) {
    const lines: string[] = [];
    for (const item of value) {
      if (typeof item === "object" && item !== null && !isEmpty(item)) {
        const inner = emit(item, indent + "  ");
        const first = inner[0] ?? "";
        lines.push(`${indent}- ${first.slice(indent.length + 2)}`, ...inner.slice(1));
      } else {
        lines.push(`${indent}- ${inline(item)}`);
      }
    }
    return lines;
  }
  if (typeof value === "object" && value !== null) {
    const lines: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (typeof v === "object" && v !== null && !isEmpty(v)) {
        lines.push(`${indent}${key(k)}:`);
        lines.push(...emit(v, Array.isArray(v) ? indent : indent + "  "));
      } else {
        lines.push(`${indent}${key(k)}: ${inline(v)}`);
      }
    }
    return lines;
  }
  return [indent + scalar(value)];
}

function inline(value: Json): string {
  if (Array.isArray(value)) return "[]";
  if (typeof value === "object" && value !== null) return "{}";
  return scalar(value);
}

export function toYaml(value: unknown): string {
  return emit(JSON.parse(JSON.stringify(value)) as Json, "").join("\n") + "\n";
}
