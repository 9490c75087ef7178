import { describe, expect, it } from "vitest";
import { dashboardClusterEnv, type ClusterInfo } from "@/scripts/dev/stack";

const node: ClusterInfo = { kind: "node", kubeconfigPath: "kubeconfig", ingressPort: 18080, pool: { image: "pagoda-pool:local", storeDir: "store" } };

describe("dashboardClusterEnv", () => {
  it("sends new sites to the pool when the local cluster runs one", () => {
    expect(dashboardClusterEnv(node, 3000).PAGODA_SITE_SERVING).toBe("shared");
  });

  it("leaves the dashboard's own default where no pool runs (a simulated node)", () => {
    const env = dashboardClusterEnv({ ...node, kind: "kwok", ingressPort: null, pool: null }, 3000);
    expect(env).not.toHaveProperty("PAGODA_SITE_SERVING");
  });
});
