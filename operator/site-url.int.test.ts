// status.url against the address the dashboard shows, with both sides
// configured from the same environment: under `npm start` the ingress listens
// on a port of its own (18080), and the two must name it alike.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, type Config } from "@/lib/config";
import { hostLabelFor, siteHost, siteUrl } from "@/lib/sites/url";
import { sharedCluster } from "@/tests/support/cluster";
import { loadConfig } from "./config";
import { Clients, createSiteNamespace, siteSpec, testOperatorConfig, TEST_BASE_DOMAIN, waitFor } from "./int-test-support";
import { startOperator, type RunningOperator } from "./controller";

const siteEnv = { PAGODA_BASE_DOMAIN: TEST_BASE_DOMAIN, PAGODA_SITE_SCHEME: "http", PAGODA_SITE_PORT: "18080" };
const dashboardSecrets = {
  DATABASE_URL: "postgresql://pagoda@127.0.0.1:5432/pagoda",
  NEXTAUTH_URL: "http://localhost:3000",
  NEXTAUTH_SECRET: "x".repeat(32),
  PAGODA_ARTIFACT_SECRET: "y".repeat(32),
};

describe("status.url and the dashboard's site address", () => {
  let clients: Clients;
  let operator: RunningOperator;
  let dashboardConfig: Config;

  beforeAll(async () => {
    const { kubeconfigPath } = sharedCluster();
    clients = Clients.fromFile(kubeconfigPath);
    dashboardConfig = parseConfig({ ...dashboardSecrets, ...siteEnv });
    const { siteScheme, sitePort } = loadConfig(siteEnv);
    operator = await startOperator(testOperatorConfig(kubeconfigPath, { siteScheme, sitePort }));
    await waitFor("the operator to lead", async () => (operator.isLeader() ? true : undefined));
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it("are the same string, port included", async () => {
    const ns = await createSiteNamespace(clients.kc, "url");
    const hostLabel = hostLabelFor("blog", ns);
    await clients.applySite(ns, "blog", siteSpec({ hosts: [siteHost(hostLabel, dashboardConfig)] }));
    const shown = siteUrl(hostLabel, dashboardConfig);
    expect(shown).toBe(`http://${hostLabel}.${TEST_BASE_DOMAIN}:18080/`);
    const reported = await waitFor("status.url", async () => (await clients.getSite(ns, "blog")).status?.url);
    expect(reported).toBe(shown);
  });
});
