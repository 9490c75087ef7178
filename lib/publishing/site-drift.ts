// "Does this StaticSite need a write?" Compared only over what the dashboard
// writes, so that a periodic restore in steady state makes no write at all and
// never fights another field manager.
//
// The dashboard owns its labels, `artifact`, `tenant`, `spa`, `notFoundPage`,
// `rules`, `domains` (verified custom domains), `serving`, `previews` and its own entry of `hosts` (a set list, so other managers may add
// entries beside it). The optional ones it owns even when it leaves them out:
// a `notFoundPage`, `rules`, `serving` or `previews` set by hand where the site has none is drift.
// Every other spec field (`suspend`, `replicas`) belongs to whoever set it,
// with kubectl or GitOps, and is not looked at here.

import "server-only";
import { isDeepStrictEqual } from "node:util";
import type { StaticSite } from "@/lib/staticsite/types";

/** Spec fields the dashboard owns that its apply may leave out (absent = none), as paths under `spec`. */
export const OWNED_OPTIONAL_FIELDS: readonly (readonly string[])[] = [
  ["notFoundPage"],
  ["rules"],
  ["rules", "redirects"],
  ["rules", "headers"],
  ["domains"],
  ["serving"],
  ["previews"],
];

function at(spec: unknown, path: readonly string[]): unknown {
  let node = spec;
  for (const key of path) node = typeof node === "object" && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  return node;
}

/** Owned optional fields that `live` has and `desired` leaves out, as `spec.<path>`. */
function extras(desired: StaticSite, live: StaticSite): (readonly string[])[] {
  return OWNED_OPTIONAL_FIELDS.filter((path) => {
    // A child of a field that is wanted away as a whole is covered by its parent.
    const parentAbsent = path.length > 1 && at(desired.spec, path.slice(0, -1)) === undefined;
    return !parentAbsent && at(desired.spec, path) === undefined && at(live.spec, path) !== undefined;
  });
}

/** Paths where `live` lacks what the dashboard writes; empty when no write is needed. */
export function staticSiteDrift(desired: StaticSite, live: StaticSite): string[] {
  const drift: string[] = [];
  const liveLabels = live.metadata.labels ?? {};
  for (const [key, value] of Object.entries(desired.metadata.labels ?? {})) {
    if (liveLabels[key] !== value) drift.push(`metadata.labels.${key}`);
  }
  const wanted = desired.spec as unknown as Record<string, unknown>;
  const actual = (live.spec ?? {}) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(wanted)) {
    if (value === undefined) continue;
    if (key === "hosts") {
      // Only presence: the position of our entry among other managers' hosts is theirs to decide.
      const liveHosts = new Set(live.spec?.hosts ?? []);
      if (!(value as string[]).every((h) => liveHosts.has(h))) drift.push("spec.hosts");
    } else if (!isDeepStrictEqual(actual[key], value)) drift.push(`spec.${key}`);
  }
  for (const path of extras(desired, live)) {
    const name = `spec.${path[0]}`;
    if (!drift.includes(name)) drift.push(name);
  }
  return drift;
}

/**
 * Owned optional fields that `live` carries, `desired` leaves out, and some
 * other field manager holds: leaving them out of an apply would not remove
 * them (server-side apply removes only the applier's own fields), so they
 * must be deleted explicitly. Paths under `spec`.
 */
export function foreignOwnedExtras(desired: StaticSite, live: StaticSite, fieldManager: string): (readonly string[])[] {
  const others = (live.metadata.managedFields ?? []).filter((f) => f.manager !== fieldManager);
  return extras(desired, live).filter((path) =>
    others.some(
      (f) =>
        at(
          (f.fieldsV1 as Record<string, unknown> | undefined)?.["f:spec"],
          path.map((key) => `f:${key}`),
        ) !== undefined,
    ),
  );
}
