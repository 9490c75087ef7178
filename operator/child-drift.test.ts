import { describe, expect, it } from "vitest";
import { containsDesired, needsApply, objectHash, withAppliedHash } from "./child-drift";
import { desiredChildren } from "./children";
import { ANNOTATION_APPLIED_HASH, type StaticSite } from "@/lib/staticsite/types";
import { childConfig, DIGEST_B, makeSite } from "./test-fixtures";

describe("drift detection", () => {
  it("ignores fields the API server adds", () => {
    const desired = { spec: { ports: [{ name: "http", port: 80 }], type: "ClusterIP" } };
    const live = { metadata: { uid: "x" }, spec: { ports: [{ name: "http", port: 80, protocol: "TCP" }], type: "ClusterIP", clusterIP: "10.0.0.1" } };
    expect(containsDesired(desired, live)).toBe(true);
  });

  it("finds a changed value, a removed field and a changed list", () => {
    const desired = { spec: { replicas: 2, ports: [{ port: 80 }], labels: { a: "b" } } };
    expect(containsDesired(desired, { spec: { replicas: 3, ports: [{ port: 80 }], labels: { a: "b" } } })).toBe(false);
    expect(containsDesired(desired, { spec: { ports: [{ port: 80 }], labels: { a: "b" } } })).toBe(false);
    expect(containsDesired(desired, { spec: { replicas: 2, ports: [{ port: 80 }, { port: 81 }], labels: { a: "b" } } })).toBe(false);
    expect(containsDesired(desired, { spec: { replicas: 2, ports: [{ port: 80 }], labels: {} } })).toBe(false);
  });

  it("hashes independently of key order and changes with content", () => {
    expect(objectHash({ a: 1, b: [1, { c: 2, d: 3 }] })).toBe(objectHash({ b: [1, { d: 3, c: 2 }], a: 1 }));
    expect(objectHash({ a: 1 })).not.toBe(objectHash({ a: 2 }));
  });

  it("re-applies when the operator's intent changes even if live has every desired field", () => {
    const withTls = withAppliedHash(desiredChildren(makeSite(), { ...childConfig, tls: true }).ingress!);
    const withoutTls = withAppliedHash(desiredChildren(makeSite(), childConfig).ingress!);
    // Live still has the TLS section; only the hash tells that it must go.
    expect(needsApply(withoutTls, withTls)).toBe(true);
    expect(needsApply(withTls, withTls)).toBe(false);
    expect(needsApply(withTls, undefined)).toBe(true);
  });

  it("compares with list items, which lack apiVersion and kind", () => {
    const desired = withAppliedHash(desiredChildren(makeSite(), childConfig).configMap);
    const listItem = JSON.parse(JSON.stringify(desired)) as Partial<typeof desired>;
    delete listItem.apiVersion;
    delete listItem.kind;
    expect(needsApply(desired, listItem as typeof desired)).toBe(false);
  });
});

describe("applied-hash kept per site between reconciles", () => {
  const appliedHash = (obj: { metadata?: { annotations?: Record<string, string> } }) => obj.metadata?.annotations?.[ANNOTATION_APPLIED_HASH];
  const kinds = ["configMap", "deployment", "service", "ingress", "pdb"] as const;

  it("is the hash of the object as built, through every change of spec, hosts, identity and config", () => {
    const base = makeSite({ replicas: 2 });
    const variants: [StaticSite, typeof childConfig, string[] | undefined][] = [
      [base, childConfig, undefined],
      [base, childConfig, undefined],
      [{ ...base, spec: { ...base.spec, artifact: { ...base.spec.artifact, digest: DIGEST_B } } }, childConfig, undefined],
      [{ ...base, spec: { ...base.spec, spa: true } }, childConfig, undefined],
      [{ ...base, spec: { ...base.spec, replicas: 1 } }, childConfig, undefined],
      [base, childConfig, []],
      [base, { ...childConfig, tls: true }, undefined],
      [{ ...base, metadata: { ...base.metadata, uid: "another-uid" } }, childConfig, undefined],
      [base, childConfig, undefined],
    ];
    for (const [site, config, hosts] of variants) {
      const children = desiredChildren(site, config, hosts);
      for (const kind of kinds) {
        const child = children[kind];
        if (child) expect(appliedHash(withAppliedHash(child)), kind).toBe(objectHash(child));
      }
    }
  });
});
