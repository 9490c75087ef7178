import { describe, expect, it } from "vitest";
import { loadConfig } from "../config";
import { desiredPoolObjects, POOL_POD_SELECTOR, POOL_TOKEN_KEY, POOL_TOKEN_SECRET, poolTokenSecret, type PoolObjectConfig } from "./objects";
import { AGENT_ENV, AGENT_PORT } from "./protocol";

function config(env: Record<string, string> = {}): PoolObjectConfig {
  const c = loadConfig({ PAGODA_OPERATOR_POOL_IMAGE: "pagoda/pool-agent:1", PAGODA_BASE_DOMAIN: "sites.example.com", ...env });
  return { ...c, pool: c.pool! };
}

describe("pool objects", () => {
  it("run the agent as the restricted pod security level requires, with an emptyDir store", () => {
    const { namespace, deployment } = desiredPoolObjects(config());
    expect(namespace.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    // Not a tenant namespace: the default selector is managed-by=pagoda.
    expect(namespace.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBeUndefined();
    const pod = deployment.spec!.template.spec!;
    expect(pod.containers.map((c) => c.name)).toEqual(["agent"]);
    const agent = pod.containers[0]!;
    expect(agent.image).toBe("pagoda/pool-agent:1");
    expect(agent.securityContext).toMatchObject({
      runAsUser: 101,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.securityContext?.seccompProfile?.type).toBe("RuntimeDefault");
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.volumes?.find((v) => v.name === "store")).toEqual({ name: "store", emptyDir: {} });
    expect(pod.volumes?.some((v) => v.hostPath)).toBe(false);
    expect(pod.volumes?.map((v) => v.name).sort()).toEqual(["store", "tmp", "work"]);
    expect(agent.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "agent" });
    expect(agent.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "agent" });
    expect(agent.ports?.find((p) => p.name === "agent")?.containerPort).toBe(AGENT_PORT);
    expect(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
    expect(deployment.spec?.replicas).toBe(2);
  });

  it("take the token from the Secret and the pod name from the downward API, never as a plain value", () => {
    const agent = desiredPoolObjects(config()).deployment.spec!.template.spec!.containers[0]!;
    const env = new Map(agent.env!.map((e) => [e.name, e]));
    expect(env.get(AGENT_ENV.token)).toEqual({ name: AGENT_ENV.token, valueFrom: { secretKeyRef: { name: POOL_TOKEN_SECRET, key: POOL_TOKEN_KEY } } });
    expect(env.get(AGENT_ENV.podName)?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
    expect(env.get(AGENT_ENV.storeDir)?.value).toMatch(/^\//);
    expect(env.get(AGENT_ENV.workDir)?.value).toMatch(/^\//);
    const secret = poolTokenSecret(config(), "t".repeat(43));
    // No env value anywhere equals the token.
    expect(agent.env!.some((e) => e.value === secret.stringData![POOL_TOKEN_KEY])).toBe(false);
    // Two Secrets made for the same pool carry different random tokens.
    expect(poolTokenSecret(config()).stringData![POOL_TOKEN_KEY]).not.toBe(poolTokenSecret(config()).stringData![POOL_TOKEN_KEY]);
    expect(poolTokenSecret(config()).stringData![POOL_TOKEN_KEY]!.length).toBeGreaterThanOrEqual(32);
  });

  it("put the store on a node directory only when asked, and then the namespace must be privileged", () => {
    const { namespace, deployment } = desiredPoolObjects(config({ PAGODA_OPERATOR_POOL_STORE_HOST_PATH: "/var/lib/pagoda-pool" }));
    expect(namespace.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("privileged");
    expect(deployment.spec!.template.spec!.volumes?.find((v) => v.name === "store")).toEqual({
      name: "store",
      hostPath: { path: "/var/lib/pagoda-pool", type: "DirectoryOrCreate" },
    });
  });

  it("route the wildcard of the base domain to the pool below every site's router", () => {
    const { ingress, service } = desiredPoolObjects(config({ PAGODA_OPERATOR_INGRESS_CLASS: "traefik" }));
    expect(ingress.metadata?.annotations?.["traefik.ingress.kubernetes.io/router.priority"]).toBe("1");
    expect(ingress.spec?.ingressClassName).toBe("traefik");
    expect(ingress.spec?.rules).toEqual([
      {
        host: "*.sites.example.com",
        http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "pagoda-pool", port: { name: "http" } } } }] },
      },
    ]);
    expect(ingress.spec?.tls).toBeUndefined();
    expect(service.spec?.ports).toEqual([
      { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
      { name: "mirror", port: 8084, targetPort: "mirror", protocol: "TCP" },
    ]);
    const tls = desiredPoolObjects(config({ PAGODA_OPERATOR_TLS: "true", PAGODA_OPERATOR_WILDCARD_SECRET: "wildcard" })).ingress;
    expect(tls.spec?.tls).toEqual([{ hosts: ["*.sites.example.com"], secretName: "wildcard" }]);
  });

  it("keep at least one replica through disruptions only when there is more than one", () => {
    expect(desiredPoolObjects(config()).pdb?.spec?.minAvailable).toBe(1);
    expect(desiredPoolObjects(config({ PAGODA_OPERATOR_POOL_REPLICAS: "1" })).pdb).toBeUndefined();
  });

  it("select the pool's pods by labels its template carries, without the managed-by label of site pods", () => {
    const { deployment } = desiredPoolObjects(config());
    const labels = deployment.spec!.template.metadata!.labels!;
    for (const term of POOL_POD_SELECTOR.split(",")) {
      const [k, v] = term.split("=");
      expect(labels[k!]).toBe(v);
    }
    expect(labels["app.kubernetes.io/managed-by"]).toBeUndefined();
    expect(deployment.spec!.selector.matchLabels).toEqual(labels);
  });
});
