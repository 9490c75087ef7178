// "Does this StaticSite need a write?" Compared only over what the dashboard
// writes, so that a periodic restore in steady state makes no write at all and
// never fights another field manager.
//
// The dashboard owns its labels, `artifact`, `tenant` and its own entry of
// `hosts` (a set list, so other managers may add entries beside it). Every
// other spec field (`spa`, `notFoundPage`, `suspend`, `replicas`) belongs to
// whoever set it, with kubectl or GitOps, and is not looked at here.

import "server-only";
import { isDeepStrictEqual } from "node:util";
import type { StaticSite } from "@/lib/staticsite/types";

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
  return drift;
}
