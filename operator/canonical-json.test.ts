import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical-json";
import { desiredChildren } from "./children";
import { deriveStatus } from "./status";
import { childConfig, makeSite } from "./test-fixtures";

// The applied-hash's earlier text (a sorted copy, then JSON.stringify): the
// hashes stored on every child in a cluster were made from it, so the new
// text must be the same character for character, or an upgrade would
// re-apply every child of every site.
function sortedCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedCopy);
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortedCopy((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
const earlierText = (value: unknown) => JSON.stringify(sortedCopy(value));

describe("canonicalJson", () => {
  it("writes every child of a site exactly as the applied-hash always did", () => {
    const site = makeSite({ replicas: 3, hosts: ["a.pagoda.test", "b.pagoda.test"], notFoundPage: "/404.html" });
    const children = desiredChildren(site, { ...childConfig, tls: true, clusterIssuer: "letsencrypt" });
    for (const child of [children.configMap, children.service, children.deployment, children.ingress, children.pdb]) {
      expect(child).toBeDefined();
      expect(canonicalJson(child)).toBe(earlierText(child));
    }
  });

  it("matches the earlier text on the awkward cases: undefined members, array holes, dates, numeric keys, escapes", () => {
    const awkward = {
      z: undefined,
      b: [1, undefined, null, { y: undefined, x: 'é\n"' }, () => 1],
      a: new Date("2026-01-02T03:04:05.678Z"),
      "10": "ten",
      "9": "nine",
      "01": "not an index",
      nested: { "2": true, "1": false, k: -0, n: NaN, big: 1e21 },
      fn: () => 1,
    };
    expect(canonicalJson(awkward)).toBe(earlierText(awkward));
    expect(canonicalJson([undefined])).toBe("[null]");
    expect(canonicalJson("plain")).toBe('"plain"');
  });

  it("gives one text for a status whatever the order of its keys", () => {
    const status = deriveStatus({ site: makeSite(), deployment: undefined, pods: [], url: "http://x.pagoda.test", now: new Date(0) });
    const reordered = Object.fromEntries(Object.entries(status).reverse());
    expect(canonicalJson(reordered)).toBe(canonicalJson(status));
    expect(canonicalJson({ ...status, replicas: 7 })).not.toBe(canonicalJson(status));
  });
});
