import { describe, expect, it } from "vitest";
import { phaseOf, type PhaseInput } from "./phase";

const row = (overrides: Partial<PhaseInput> = {}): PhaseInput => ({
  name: "www.customer.test",
  state: "verified",
  failureReason: null,
  lostSince: null,
  ...overrides,
});
const served = (state: string, reason?: string) => new Map([["www.customer.test", { state, reason }]]);

describe("phaseOf", () => {
  it("shows pending and failed rows as they are, with their reason", () => {
    expect(phaseOf(row({ state: "pending", failureReason: "No TXT record." }), served("serving"))).toEqual({
      phase: "pending_verification",
      reason: "No TXT record.",
    });
    expect(phaseOf(row({ state: "failed", failureReason: "Taken off." }), null)).toEqual({ phase: "failed", reason: "Taken off." });
  });

  it("follows the operator once verified: pending-certificate and no status read as verified", () => {
    expect(phaseOf(row(), null)).toEqual({ phase: "verified", reason: null });
    expect(phaseOf(row(), new Map())).toEqual({ phase: "verified", reason: null });
    expect(phaseOf(row(), served("pending-certificate"))).toEqual({ phase: "verified", reason: null });
    expect(phaseOf(row(), served("certificate-issued"))).toEqual({ phase: "certificate_issued", reason: null });
    expect(phaseOf(row(), served("serving"))).toEqual({ phase: "serving", reason: null });
  });

  it("shows the operator's refusal or failed issuance with its reason", () => {
    expect(phaseOf(row(), served("failed", "ACME order failed: connection refused"))).toEqual({
      phase: "failed",
      reason: "ACME order failed: connection refused",
    });
    expect(phaseOf(row(), served("refused", "already served by another site"))).toEqual({ phase: "failed", reason: "already served by another site" });
  });

  it("keeps showing a lost domain's phase, with what the check saw", () => {
    expect(phaseOf(row({ lostSince: new Date(), failureReason: "No TXT record." }), served("serving"))).toEqual({ phase: "serving", reason: "No TXT record." });
  });

  it("says a verified wildcard is not served", () => {
    expect(phaseOf(row({ name: "*.customer.test" }), null).reason).toContain("not wildcards");
  });
});
