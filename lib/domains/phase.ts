// What a person reads about a domain: its row's state, refined once it is
// verified by what the operator reports in the StaticSite's status.domains.
// Pure, so each combination is tested on its own.

import type { DomainView } from "@/lib/api/domain-schemas";

/** One entry of status.domains, as far as it can be read. */
export interface ServedDomain {
  state?: string;
  reason?: string;
}

export interface PhaseInput {
  name: string;
  state: "pending" | "verified" | "failed";
  failureReason: string | null;
  lostSince: Date | null;
}

export function phaseOf(row: PhaseInput, served: ReadonlyMap<string, ServedDomain> | null): { phase: DomainView["phase"]; reason: string | null } {
  if (row.state === "pending") return { phase: "pending_verification", reason: row.failureReason };
  if (row.state === "failed") return { phase: "failed", reason: row.failureReason };
  if (row.name.startsWith("*.")) return { phase: "verified", reason: "Verified, but not served: the cluster serves exact names only, not wildcards." };
  const entry = served?.get(row.name);
  // While its records are missing the domain is still served; the reason says what the check saw.
  const lost = row.lostSince ? row.failureReason : null;
  switch (entry?.state) {
    case "serving":
      return { phase: "serving", reason: lost };
    case "certificate-issued":
      return { phase: "certificate_issued", reason: lost };
    case "failed":
    case "refused":
      return { phase: "failed", reason: entry.reason ?? "The cluster does not serve this domain." };
    default:
      // pending-certificate, or no status yet: verified, and written into the StaticSite.
      return { phase: "verified", reason: lost ?? entry?.reason ?? null };
  }
}
