import { describe, expect, it } from "vitest";
import { SITE_CONTAINER_RESOURCES } from "@/lib/staticsite/types";
import {
  cpuQuantity,
  desiredTenantLimitRange,
  desiredTenantQuota,
  limitRangeNeedsApply,
  memoryQuantity,
  quotaNeedsApply,
  tenantLimitsNeedApply,
} from "./tenant-limits";

describe("tenant ResourceQuota and LimitRange", () => {
  it("writes quantities the way the API server stores them", () => {
    expect(cpuQuantity(500)).toBe("500m");
    expect(cpuQuantity(50_000)).toBe("50");
    expect(memoryQuantity(1600)).toBe("1600Mi");
    expect(memoryQuantity(2048)).toBe("2Gi");
    expect(memoryQuantity(0)).toBe("0");
  });

  it("has room for every site rolling out at once, and for no volumes, load balancers or extra sites", () => {
    const hard = desiredTenantQuota("pagoda-acme", 50).spec!.hard!;
    expect(hard).toMatchObject({
      pods: "100",
      "requests.cpu": cpuQuantity(100 * SITE_CONTAINER_RESOURCES.requests.cpuMillis),
      "limits.memory": memoryQuantity(100 * SITE_CONTAINER_RESOURCES.limits.memoryMiB),
      "count/deployments.apps": "50",
      persistentvolumeclaims: "0",
      "services.loadbalancers": "0",
      "services.nodeports": "0",
    });
    expect(desiredTenantQuota("pagoda-acme", 3).spec!.hard!.pods).toBe("6");
    const [item] = desiredTenantLimitRange("pagoda-acme").spec!.limits;
    expect(item).toMatchObject({ type: "Container", max: { cpu: "500m", memory: "64Mi" }, defaultRequest: { cpu: "10m", memory: "16Mi" } });
  });

  it("needs a write when missing, changed or unlabelled, and not when it matches", () => {
    const quota = desiredTenantQuota("pagoda-acme", 50);
    const range = desiredTenantLimitRange("pagoda-acme");
    expect(quotaNeedsApply(null, quota)).toBe(true);
    expect(quotaNeedsApply(structuredClone(quota), quota)).toBe(false);
    expect(quotaNeedsApply({ ...quota, spec: { hard: { ...quota.spec!.hard, pods: "1000" } } }, quota)).toBe(true);
    expect(quotaNeedsApply({ ...quota, metadata: { ...quota.metadata, labels: {} } }, quota)).toBe(true);
    expect(limitRangeNeedsApply(structuredClone(range), range)).toBe(false);
    expect(limitRangeNeedsApply({ ...range, spec: { limits: [] } }, range)).toBe(true);
    expect(tenantLimitsNeedApply("pagoda-acme", 50, { quota, limitRange: range })).toBe(false);
    // A tenant whose site quota was raised gets a bigger namespace quota.
    expect(tenantLimitsNeedApply("pagoda-acme", 80, { quota, limitRange: range })).toBe(true);
  });
});
