import { describe, expect, it } from "vitest";
import { CONDITION_CERTIFICATES, CONDITION_DEGRADED, CONDITION_READY, findCondition } from "@/lib/staticsite/types";
import type { Certificate } from "./children";
import { certificateState, deriveStatus, domainStatuses, transitionEvents, type DomainInputs } from "./status";
import { makeSite } from "./test-fixtures";

function cert(conditions: NonNullable<Certificate["status"]>["conditions"], extra: Partial<NonNullable<Certificate["status"]>> = {}): Certificate {
  return {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: "c", namespace: "acme" },
    spec: { secretName: "c", dnsNames: ["x"], issuerRef: { name: "i", kind: "ClusterIssuer", group: "cert-manager.io" } },
    status: { conditions, ...extra },
  };
}

const READY = cert([{ type: "Ready", status: "True", reason: "Ready", message: "Certificate is up to date and has not expired" }]);
const ISSUING = cert([
  { type: "Ready", status: "False", reason: "DoesNotExist", message: "Issuing certificate as Secret does not exist" },
  { type: "Issuing", status: "True", reason: "DoesNotExist", message: "Issuing certificate as Secret does not exist" },
]);
const FAILED = cert(
  [
    { type: "Ready", status: "False", reason: "DoesNotExist", message: "Issuing certificate as Secret does not exist" },
    {
      type: "Issuing",
      status: "False",
      reason: "Failed",
      message:
        'The certificate request has failed to complete and will be retried: Failed to wait for order resource "c-1-2" to become ready: order is in "invalid" state: ',
    },
  ],
  { lastFailureTime: "2026-12-01T21:00:00Z" },
);

describe("certificateState", () => {
  it("reads Ready, pending and failed from the Certificate's conditions, with the request's failure message", () => {
    expect(certificateState(READY)).toEqual({ state: "ready" });
    expect(certificateState(ISSUING)).toEqual({ state: "pending", reason: "Issuing certificate as Secret does not exist" });
    expect(certificateState(undefined).state).toBe("pending");
    const failed = certificateState(FAILED);
    expect(failed.state).toBe("failed");
    expect(failed.state === "failed" && failed.reason).toContain('order is in "invalid" state');
  });
});

describe("domainStatuses", () => {
  const base: DomainInputs = {
    requested: ["a.customer.test", "b.customer.test", "c.customer.test", "d.customer.test", "blog.sites.test"],
    decision: {
      granted: ["a.customer.test", "b.customer.test", "c.customer.test", "d.customer.test"],
      refused: [{ name: "blog.sites.test", reason: "blog.sites.test is under the installation's domain sites.test" }],
    },
    certificate: (d) => ({ "a.customer.test": READY, "b.customer.test": READY, "c.customer.test": ISSUING, "d.customer.test": FAILED })[d],
    mode: "on",
    servingTls: new Set(["a.customer.test"]),
    suspended: false,
  };

  it("gives each requested domain its state and reason", () => {
    const report = domainStatuses(base);
    expect(report.domains.map((d) => [d.name, d.state])).toEqual([
      ["a.customer.test", "serving"],
      ["b.customer.test", "certificate-issued"],
      ["c.customer.test", "pending-certificate"],
      ["d.customer.test", "failed"],
      ["blog.sites.test", "refused"],
    ]);
    expect(report.domains[3]?.reason).toMatch(/order is in "invalid" state.*served over plain HTTP meanwhile/);
    expect(report.domains[4]?.reason).toContain("under the installation's domain");
    expect(report.condition).toMatchObject({ status: "False", reason: "IssuanceFailed" });
    expect(report.condition.message).toMatch(/^d\.customer\.test: /);
  });

  it("says Issuing while any certificate is pending, Issued once all are", () => {
    expect(domainStatuses({ ...base, certificate: (d) => (d === "a.customer.test" ? READY : ISSUING) }).condition.reason).toBe("Issuing");
    const all = domainStatuses({ ...base, certificate: () => READY, servingTls: new Set(base.decision.granted) });
    expect(all.condition).toMatchObject({ status: "True", reason: "Issued" });
    expect(all.domains.filter((d) => d.state === "serving")).toHaveLength(4);
  });

  it("serves over plain HTTP, and says why, without cert-manager or without an issuer", () => {
    const missing = domainStatuses({ ...base, mode: "no-cert-manager" });
    expect(missing.condition).toMatchObject({ status: "False", reason: "CertManagerMissing" });
    expect(missing.domains[0]).toEqual({
      name: "a.customer.test",
      state: "serving",
      reason: "served over plain HTTP: cert-manager is not installed in the cluster",
    });
    expect(domainStatuses({ ...base, mode: "no-issuer" }).condition.reason).toBe("NoIssuer");
  });
});

describe("deriveStatus with custom domains", () => {
  it("keeps Ready and Degraded as they are when a custom domain's certificate fails", () => {
    const site = makeSite({ domains: ["d.customer.test"] });
    const now = new Date("2026-12-01T21:00:00Z");
    const inputs = { site, deployment: undefined, pods: [], url: "http://blog.example.com", now };
    const without = deriveStatus(inputs);
    const report = domainStatuses({
      requested: ["d.customer.test"],
      decision: { granted: ["d.customer.test"], refused: [] },
      certificate: () => FAILED,
      mode: "on",
      servingTls: new Set(),
      suspended: false,
    });
    const withDomains = deriveStatus({ ...inputs, domains: report });
    expect(findCondition(withDomains, CONDITION_READY)).toEqual(findCondition(without, CONDITION_READY));
    expect(findCondition(withDomains, CONDITION_DEGRADED)).toEqual(findCondition(without, CONDITION_DEGRADED));
    expect(findCondition(withDomains, CONDITION_CERTIFICATES)).toMatchObject({ status: "False", reason: "IssuanceFailed" });
    expect(withDomains.domains).toEqual(report.domains);
    expect(without.domains).toBeUndefined();
    expect(findCondition(without, CONDITION_CERTIFICATES)).toBeUndefined();
  });
});

describe("certificate events", () => {
  it("warn once per failure and say when every certificate is issued", () => {
    const site = makeSite({ domains: ["d.customer.test"] });
    const now = new Date("2026-12-01T21:00:00Z");
    const statusWith = (certificate: () => Certificate, servingTls: Set<string>) =>
      deriveStatus({
        site,
        deployment: undefined,
        pods: [],
        url: "http://blog.example.com",
        now,
        domains: domainStatuses({
          requested: ["d.customer.test"],
          decision: { granted: ["d.customer.test"], refused: [] },
          certificate,
          mode: "on",
          servingTls,
          suspended: false,
        }),
      });
    const issuing = statusWith(() => ISSUING, new Set());
    const failed = statusWith(() => FAILED, new Set());
    const issued = statusWith(() => READY, new Set(["d.customer.test"]));
    expect(transitionEvents(issuing, failed).filter((e) => e.reason === "CertificateFailed")).toHaveLength(1);
    expect(transitionEvents(failed, failed).filter((e) => e.reason === "CertificateFailed")).toEqual([]);
    expect(transitionEvents(failed, issued).map((e) => e.reason)).toContain("CertificatesIssued");
    expect(transitionEvents(issued, issued).map((e) => e.reason)).not.toContain("CertificatesIssued");
  });
});
