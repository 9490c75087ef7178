// A StaticSite's rules through the operator and a real API server: the
// ConfigMap carries them and the pod template rolls when they change; rules
// written by hand that do not parse leave the site Degraded, with the file
// and line, on its last good configuration; a site that never had one gets
// no children.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedCluster } from "@/tests/support/cluster";
import { ANNOTATION_CONFIG_HASH, ANNOTATION_DIGEST, CONDITION_DEGRADED, findCondition } from "@/lib/staticsite/types";
import { Clients, createSiteNamespace, digestOf, httpCode, siteSpec, testOperatorConfig, waitFor } from "./int-test-support";
import { startOperator, type RunningOperator } from "./controller";

describe("operator with site rules", () => {
  let clients: Clients;
  let operator: RunningOperator;

  beforeAll(async () => {
    const { kubeconfigPath } = sharedCluster();
    clients = Clients.fromFile(kubeconfigPath);
    operator = await startOperator(testOperatorConfig(kubeconfigPath));
    await waitFor("the operator to lead", async () => (operator.isLeader() ? true : undefined));
  });

  afterAll(async () => {
    await operator?.stop();
  });

  const configOf = async (ns: string, name: string) =>
    (await clients.core.readNamespacedConfigMap({ name: `${name}-nginx`, namespace: ns })).data?.["nginx.conf"] ?? "";

  it("renders the spec's rules into the ConfigMap, and a bad hand-written rule keeps the last good config with a clear condition", async () => {
    const ns = await createSiteNamespace(clients.kc, "rules");
    const spec = siteSpec({ rules: { redirects: "/old /new 301\n", headers: "/*\n  X-Rules: on\n" } });
    await clients.applySite(ns, "shop", spec);
    const first = await waitFor("ConfigMap with the rules", async () => {
      const conf = await configOf(ns, "shop").catch(() => "");
      return conf.includes('"/old"') && conf.includes("X-Rules") ? conf : undefined;
    });
    expect(first).toMatch(/location = \/_redirects \{/);
    const dep = await waitFor("Deployment", () => clients.apps.readNamespacedDeployment({ name: "shop", namespace: ns }));
    const goodHash = dep.spec?.template.metadata?.annotations?.[ANNOTATION_CONFIG_HASH];

    // Written by hand past the dashboard, with a new artifact: nothing of it is taken.
    await clients.applySite(ns, "shop", {
      ...spec,
      artifact: { url: "http://127.0.0.1:9/b.tgz", digest: digestOf("b") },
      rules: { redirects: "/old /new 301\n/bad /x 999\n" },
    });
    const degraded = await waitFor("Degraded naming the bad line", async () => {
      const s = await clients.getSite(ns, "shop");
      const c = findCondition(s.status, CONDITION_DEGRADED);
      return s.status?.observedGeneration === 2 && c?.status === "True" ? c : undefined;
    });
    expect(degraded.reason).toBe("RulesInvalid");
    expect(degraded.message).toContain("spec.rules: _redirects line 2: status 999 is not a redirect status");
    await operator.idle();
    expect(await configOf(ns, "shop")).toBe(first);
    const kept = await clients.apps.readNamespacedDeployment({ name: "shop", namespace: ns });
    expect(kept.spec?.template.metadata?.annotations?.[ANNOTATION_CONFIG_HASH]).toBe(goodHash);
    expect(kept.spec?.template.metadata?.annotations?.[ANNOTATION_DIGEST]).toBe(digestOf("a"));
    const events = await clients.core.listNamespacedEvent({ namespace: ns });
    expect(events.items.some((e) => e.type === "Warning" && e.message?.includes("_redirects line 2"))).toBe(true);

    // Fixed: the new rules and artifact roll out and the condition clears.
    await clients.applySite(ns, "shop", {
      ...spec,
      artifact: { url: "http://127.0.0.1:9/b.tgz", digest: digestOf("b") },
      rules: { redirects: "/old /newer 302\n" },
    });
    await waitFor("the fixed rules", async () => ((await configOf(ns, "shop")).includes("/newer") ? true : undefined));
    const fixed = await waitFor("Degraded cleared", async () => {
      const s = await clients.getSite(ns, "shop");
      return s.status?.observedGeneration === 3 && findCondition(s.status, CONDITION_DEGRADED)?.status === "False" ? s : undefined;
    });
    expect(fixed.status?.observedGeneration).toBe(3);
    const rolled = await clients.apps.readNamespacedDeployment({ name: "shop", namespace: ns });
    expect(rolled.spec?.template.metadata?.annotations?.[ANNOTATION_CONFIG_HASH]).not.toBe(goodHash);
  });

  it("gives a site whose first rules do not parse no children at all", async () => {
    const ns = await createSiteNamespace(clients.kc, "rules-new");
    await clients.applySite(ns, "fresh", siteSpec({ rules: { headers: "/*\n  Set-Cookie: a=b\n" } }));
    const degraded = await waitFor("Degraded", async () => {
      const s = await clients.getSite(ns, "fresh");
      const c = findCondition(s.status, CONDITION_DEGRADED);
      return c?.status === "True" ? c : undefined;
    });
    expect(degraded.message).toMatch(/_headers line 2: .*Set-Cookie/);
    await operator.idle();
    const missing = await clients.apps.readNamespacedDeployment({ name: "fresh", namespace: ns }).then(
      () => 200,
      (err: unknown) => httpCode(err),
    );
    expect(missing).toBe(404);
    expect((await clients.core.listNamespacedConfigMap({ namespace: ns })).items.filter((c) => c.metadata?.name === "fresh-nginx")).toEqual([]);
  });
});
