import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { diffRelist } from "./informer";
import { isGone } from "./request";

// The informer relists on exactly these.
describe("isGone", () => {
  it("recognises 410 as an HTTP error and as a watch ERROR status", () => {
    expect(isGone(Object.assign(new Error("Gone"), { statusCode: 410 }))).toBe(true);
    expect(isGone({ kind: "Status", code: 410, reason: "Expired" })).toBe(true);
    expect(isGone({ kind: "Status", code: 500 })).toBe(false);
    expect(isGone(new Error("ECONNREFUSED"))).toBe(false);
    expect(isGone(undefined)).toBe(false);
  });
});

describe("diffRelist", () => {
  const obj = (name: string, resourceVersion: string): KubernetesObject => ({ metadata: { namespace: "ns", name, resourceVersion } });
  const byKey = (...objs: KubernetesObject[]) => new Map(objs.map((o) => [`ns/${o.metadata?.name}`, o]));

  it("reports what a relist added, changed and lost, and nothing for objects that did not change", () => {
    const kept = obj("kept", "1");
    const changed = obj("changed", "2");
    const gone = obj("gone", "3");
    const changedNow = obj("changed", "7");
    const fresh = obj("fresh", "8");
    expect(diffRelist(byKey(kept, changed, gone), byKey(obj("kept", "1"), changedNow, fresh))).toEqual({
      added: [fresh],
      updated: [changedNow],
      deleted: [gone],
    });
  });

  it("adds everything on the first list", () => {
    const a = obj("a", "1");
    expect(diffRelist(new Map(), byKey(a))).toEqual({ added: [a], updated: [], deleted: [] });
  });
});
