import http from "node:http";
import type { AddressInfo } from "node:net";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeApiError } from "@/lib/kube/request";
import { ClusterNotConfiguredError, InvalidSiteError, TerminatingError } from "./errors";
import { dashboardRequester } from "./kube-clients";
import { setDashboardRequestTimeoutMs } from "./request-timeout";

describe("the dashboard's cluster errors", () => {
  it("say what is wrong and keep the detail", () => {
    expect(new ClusterNotConfiguredError("KUBECONFIG names /x, which does not exist")).toMatchObject({
      message: "Kubernetes cluster not configured: KUBECONFIG names /x, which does not exist",
      reason: "KUBECONFIG names /x, which does not exist",
    });
    expect(new InvalidSiteError("spec.hosts", "too many")).toMatchObject({ message: "invalid site spec.hosts: too many", field: "spec.hosts" });
    expect(new TerminatingError("Namespace pagoda-acme").message).toBe("Namespace pagoda-acme is being deleted; it can be written again once it is gone");
  });
});

describe("dashboardRequester", () => {
  let server: http.Server;
  let kc: KubeConfig;

  beforeAll(async () => {
    // Takes every request and never answers.
    server = http.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    kc = new KubeConfig();
    kc.loadFromClusterAndUser({ name: "hung", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }, { name: "nobody" });
    setDashboardRequestTimeoutMs(200);
  });
  afterAll(async () => {
    setDashboardRequestTimeoutMs(undefined);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("is made once per KubeConfig and fails with lib/kube's error at the dashboard's deadline", async () => {
    const kube = dashboardRequester(kc);
    expect(dashboardRequester(kc)).toBe(kube);
    const err = await kube.call("reading Namespace pagoda-acme", () => kube.client(CoreV1Api).readNamespace({ name: "pagoda-acme" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ timedOut: true, statusCode: undefined });
    expect((err as Error).message).toBe("reading Namespace pagoda-acme: request timed out: no answer from the API server within 0.2 s");
  });
});
