import { describe, expect, it } from "vitest";
import { desiredTenantPolicy, tenantPolicyNeedsApply } from "./tenant-policy";

const settings = { ingressNamespace: "ingress-nginx", dashboardNamespace: "pagoda" };

describe("tenant NetworkPolicy", () => {
  const desired = desiredTenantPolicy("pagoda-acme", settings);

  it("admits only the ingress controller's namespace and lets out only DNS and the dashboard", () => {
    expect(desired.metadata).toEqual({ name: "pagoda-sites", namespace: "pagoda-acme", labels: { "app.kubernetes.io/managed-by": "pagoda" } });
    const text = JSON.stringify(desired.spec);
    expect(text).toContain('"kubernetes.io/metadata.name":"ingress-nginx"');
    expect(text).toContain('"kubernetes.io/metadata.name":"pagoda"}},"podSelector":{"matchLabels":{"app.kubernetes.io/name":"pagoda-dashboard"}}');
    expect(desiredTenantPolicy("pagoda-acme", { ...settings, ingressNamespace: "kube-system" }).spec).not.toEqual(desired.spec);
  });

  it("needs a write when missing, changed or unlabelled, and not when it matches", () => {
    expect(tenantPolicyNeedsApply(null, desired)).toBe(true);
    expect(tenantPolicyNeedsApply(structuredClone(desired), desired)).toBe(false);
    expect(tenantPolicyNeedsApply({ ...desired, metadata: { ...desired.metadata, labels: {} } }, desired)).toBe(true);
    expect(tenantPolicyNeedsApply({ ...desired, spec: { ...(desired.spec as object), ingress: [] } }, desired)).toBe(true);
  });
});
