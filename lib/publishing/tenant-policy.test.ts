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

  it("with a serving pool, lets out the mirror port of the pool's pods too, and nothing else of that namespace", () => {
    const egress = (desiredTenantPolicy("pagoda-acme", { ...settings, poolNamespace: "pagoda-serving" }).spec as { egress: unknown[] }).egress;
    expect(egress).toHaveLength(3);
    expect(egress[2]).toEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "pagoda-serving" } },
          podSelector: { matchLabels: { "app.kubernetes.io/name": "pagoda-pool", "app.kubernetes.io/component": "serving-pool" } },
        },
      ],
      ports: [{ protocol: "TCP", port: "mirror" }],
    });
    expect(JSON.stringify(desired.spec)).not.toContain("pagoda-serving");
  });

  it("needs a write when missing, changed or unlabelled, and not when it matches", () => {
    expect(tenantPolicyNeedsApply(null, desired)).toBe(true);
    expect(tenantPolicyNeedsApply(structuredClone(desired), desired)).toBe(false);
    expect(tenantPolicyNeedsApply({ ...desired, metadata: { ...desired.metadata, labels: {} } }, desired)).toBe(true);
    expect(tenantPolicyNeedsApply({ ...desired, spec: { ...(desired.spec as object), ingress: [] } }, desired)).toBe(true);
  });
});

describe("tenant NetworkPolicy with proxy rules", () => {
  const egressOf = (proxyOrigins: string[]) => (desiredTenantPolicy("pagoda-acme", { ...settings, proxyOrigins }).spec as { egress: unknown[] }).egress;

  it("lets out nothing more while proxying is off", () => {
    expect(egressOf([])).toEqual((desiredTenantPolicy("pagoda-acme", settings).spec as { egress: unknown[] }).egress);
    expect(egressOf([])).toHaveLength(2);
  });

  it("opens an IP origin's address and port exactly, and a named origin's port to public addresses only", () => {
    const egress = egressOf(["https://api.example.com", "http://10.0.0.5:8080", "http://cdn.example.net", "https://api.example.com:8443"]);
    expect(egress.slice(2)).toEqual([
      {
        to: [
          {
            ipBlock: {
              cidr: "0.0.0.0/0",
              except: ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"],
            },
          },
        ],
        ports: [
          { protocol: "TCP", port: 443 },
          { protocol: "TCP", port: 80 },
          { protocol: "TCP", port: 8443 },
        ],
      },
      { to: [{ ipBlock: { cidr: "10.0.0.5/32" } }], ports: [{ protocol: "TCP", port: 8080 }] },
    ]);
  });
});
