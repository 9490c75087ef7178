// Builders for unit tests: StaticSites and the Deployment/Pod states the API
// server reports, shaped like real API objects.
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { ANNOTATION_DIGEST, type StaticSite, type StaticSiteSpec } from "@/lib/staticsite/types";
import type { ChildConfig } from "./children";

export const DIGEST_A = `sha256:${"a".repeat(64)}`;
export const DIGEST_B = `sha256:${"b".repeat(64)}`;

export const childConfig: ChildConfig = {
  nginxImage: "nginxinc/nginx-unprivileged:1.27-alpine",
  fetchImage: "busybox:1.37",
  imagePullPolicy: "IfNotPresent",
  ingressClass: "traefik",
  tls: false,
  clusterIssuer: undefined,
  defaultDomain: undefined,
  siteScheme: "http",
  sitePort: undefined,
};

export function makeSite(spec: Partial<StaticSiteSpec> = {}, generation = 1): StaticSite {
  return {
    apiVersion: "pagoda.dev/v1alpha1",
    kind: "StaticSite",
    metadata: { name: "blog", namespace: "acme", uid: "uid-1", generation },
    spec: { artifact: { url: "https://pagoda.example/a/x.tgz?sig=1", digest: DIGEST_A }, hosts: ["blog.example.com"], ...spec },
  };
}

export interface DeploymentState {
  digest?: string;
  specReplicas?: number;
  generation?: number;
  observedGeneration?: number;
  replicas?: number;
  updated?: number;
  ready?: number;
  available?: number;
  conditions?: NonNullable<V1Deployment["status"]>["conditions"];
}

export function makeDeployment(s: DeploymentState = {}): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "blog", namespace: "acme", generation: s.generation ?? 1 },
    spec: {
      replicas: s.specReplicas ?? 1,
      selector: {},
      template: { metadata: { annotations: { [ANNOTATION_DIGEST]: s.digest ?? DIGEST_A } } },
    },
    status: {
      observedGeneration: s.observedGeneration ?? s.generation ?? 1,
      replicas: s.replicas ?? 1,
      updatedReplicas: s.updated ?? 1,
      readyReplicas: s.ready ?? 1,
      availableReplicas: s.available ?? 1,
      conditions: s.conditions,
    },
  };
}

export function makePod(status: V1Pod["status"], digest = DIGEST_A): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "blog-abc", namespace: "acme", annotations: { [ANNOTATION_DIGEST]: digest } },
    spec: { initContainers: [{ name: "fetch", image: "busybox:1.37" }], containers: [{ name: "nginx" }] },
    status,
  };
}
