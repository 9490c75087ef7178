// "Does this StaticSite need a write?" Compared field by field, so that a
// periodic restore in steady state makes no write at all.
//
// The dashboard owns the whole spec: Postgres is the source of truth for it.
// A spec field the dashboard does not set is therefore drift too (someone set
// it by hand), unless it merely carries the CRD's default (the API server
// fills in `replicas: 1`). Labels are compared only for the keys we set;
// others may label our objects.
import { isDeepStrictEqual } from "node:util";
import { staticSiteCrd } from "@/lib/k8s/staticsite-crd";
import type { StaticSite } from "@/lib/k8s/staticsite";

interface PropertySchema {
  default?: unknown;
}

/** Spec fields the API server defaults, with their defaults, read from the CRD itself. */
export function specDefaults(): Record<string, unknown> {
  const version = staticSiteCrd.spec.versions[0];
  const spec = version.schema.openAPIV3Schema.properties.spec as { properties?: Record<string, PropertySchema> };
  const defaults: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(spec.properties ?? {})) {
    if (prop.default !== undefined) defaults[name] = prop.default;
  }
  return defaults;
}

const DEFAULTS = specDefaults();

/** Spec fields present on `live` that the dashboard does not set and that are not defaults. */
export function foreignSpecFields(desired: StaticSite, live: StaticSite): string[] {
  const wanted = desired.spec as unknown as Record<string, unknown>;
  const actual = (live.spec ?? {}) as unknown as Record<string, unknown>;
  return Object.keys(actual)
    .filter((key) => !(key in wanted) || wanted[key] === undefined)
    .filter((key) => !(key in DEFAULTS && isDeepStrictEqual(actual[key], DEFAULTS[key])))
    .sort();
}

/**
 * Paths where `live` differs from `desired`; empty when no write is needed.
 * Order matters in `hosts`: the operator derives the site's URL from the first.
 */
export function staticSiteDrift(desired: StaticSite, live: StaticSite): string[] {
  const drift: string[] = [];
  const liveLabels = live.metadata.labels ?? {};
  for (const [key, value] of Object.entries(desired.metadata.labels ?? {})) {
    if (liveLabels[key] !== value) drift.push(`metadata.labels.${key}`);
  }
  const wanted = desired.spec as unknown as Record<string, unknown>;
  const actual = (live.spec ?? {}) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(wanted)) {
    if (value !== undefined && !isDeepStrictEqual(actual[key], value)) drift.push(`spec.${key}`);
  }
  for (const key of foreignSpecFields(desired, live)) drift.push(`spec.${key}`);
  return drift;
}
