// Helpers shared by the operator's integration tests (real API server).
import { randomBytes } from "node:crypto";
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, NetworkingV1Api, PatchStrategy, PolicyV1Api, setHeaderOptions } from "@kubernetes/client-node";
import {
  FIELD_MANAGER_DASHBOARD,
  STATICSITE_API_VERSION,
  STATICSITE_GROUP,
  STATICSITE_KIND,
  STATICSITE_PLURAL,
  STATICSITE_VERSION,
  type StaticSite,
  type StaticSiteSpec,
} from "@/lib/staticsite/types";
import { createTestNamespace } from "@/local-cluster/testing";
import { loadConfig, type OperatorConfig } from "./config";

/** The domain test sites live under; siteSpec's hosts are one label below it. */
export const TEST_BASE_DOMAIN = "pagoda.test";
/** What the dashboard puts on tenant namespaces, and the operator's default selector. */
export const PAGODA_NAMESPACE_LABELS = { "app.kubernetes.io/managed-by": "pagoda" } as const;

/** A test namespace marked as Pagoda's, as the dashboard marks tenant namespaces. */
export async function createSiteNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = await createTestNamespace(kc, prefix);
  await kc
    .makeApiClient(CoreV1Api)
    .patchNamespace({ name, body: { metadata: { labels: PAGODA_NAMESPACE_LABELS } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
  return name;
}

/** A host no other test claims. */
export function uniqueHost(label = "site"): string {
  return `${label}-${randomBytes(4).toString("hex")}.${TEST_BASE_DOMAIN}`;
}

export const digestOf = (c: string) => `sha256:${c.repeat(64)}`;

/** Polls until `probe` returns a value other than undefined; keeps the last error for the timeout message. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function testOperatorConfig(kubeconfigPath: string, overrides: Partial<OperatorConfig> = {}): OperatorConfig {
  return {
    ...loadConfig({}),
    kubeconfigPath,
    port: 0,
    ingressClass: "pagoda-test",
    baseDomain: TEST_BASE_DOMAIN,
    leaderElection: true,
    leaseNamespace: "default",
    leaseName: `pagoda-operator-${randomBytes(3).toString("hex")}`,
    leaseDurationMs: 3_000,
    leaseRenewMs: 2_000,
    identity: `test-${randomBytes(3).toString("hex")}`,
    backoffBaseMs: 200,
    backoffMaxMs: 5_000,
    ...overrides,
  };
}

export class Clients {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly networking: NetworkingV1Api;
  readonly policy: PolicyV1Api;
  readonly custom: CustomObjectsApi;

  constructor(readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.networking = kc.makeApiClient(NetworkingV1Api);
    this.policy = kc.makeApiClient(PolicyV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  static fromFile(path: string): Clients {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new Clients(kc);
  }

  /** Writes the spec the way the dashboard does: server-side apply as pagoda-dashboard. */
  async applySite(namespace: string, name: string, spec: StaticSiteSpec, labels?: Record<string, string>): Promise<StaticSite> {
    const body = {
      apiVersion: STATICSITE_API_VERSION,
      kind: STATICSITE_KIND,
      metadata: { name, namespace, ...(labels ? { labels } : {}) },
      spec,
    };
    return (await this.custom.patchNamespacedCustomObject(
      {
        group: STATICSITE_GROUP,
        version: STATICSITE_VERSION,
        plural: STATICSITE_PLURAL,
        namespace,
        name,
        body,
        fieldManager: FIELD_MANAGER_DASHBOARD,
        force: true,
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    )) as StaticSite;
  }

  async getSite(namespace: string, name: string): Promise<StaticSite> {
    return (await this.custom.getNamespacedCustomObject({
      group: STATICSITE_GROUP,
      version: STATICSITE_VERSION,
      plural: STATICSITE_PLURAL,
      namespace,
      name,
    })) as StaticSite;
  }

  async deleteSite(namespace: string, name: string): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({
      group: STATICSITE_GROUP,
      version: STATICSITE_VERSION,
      plural: STATICSITE_PLURAL,
      namespace,
      name,
      propagationPolicy: "Background",
    });
  }
}

/** A spec with a host of its own: a new one on every call, so reuse the result for one site's repeated writes. */
export function siteSpec(overrides: Partial<StaticSiteSpec> = {}): StaticSiteSpec {
  return {
    artifact: { url: "http://127.0.0.1:9/artifacts/site.tgz?sig=abc", digest: digestOf("a") },
    hosts: [uniqueHost()],
    ...overrides,
  };
}

/** The status code of a failed client call, if any. */
export function httpCode(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

/** The API server's message from a failed client call. */
export function httpMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      return String((JSON.parse(body) as { message?: string }).message ?? body);
    } catch {
      return body;
    }
  }
  return String((body as { message?: string } | undefined)?.message ?? (err as Error).message);
}
