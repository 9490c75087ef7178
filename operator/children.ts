// Pure functions from a StaticSite (and the operator config) to the child
// objects it should have. No I/O here, so every rule is unit-testable.
import type {
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1Ingress,
  V1OwnerReference,
  V1PodDisruptionBudget,
  V1SecurityContext,
  V1Service,
} from "@kubernetes/client-node";
import {
  ANNOTATION_CONFIG_HASH,
  ANNOTATION_DIGEST,
  LABEL_MANAGED_BY,
  LABEL_MANAGED_BY_VALUE,
  LABEL_NAME,
  REPLICAS_DEFAULT,
  SITE_CONTAINER_RESOURCES,
  SITE_ROLLOUT_SURGE,
  siteLabels,
  STATICSITE_API_VERSION,
  STATICSITE_KIND,
  type StaticSite,
} from "@/lib/staticsite/types";
import { createHash } from "node:crypto";
import { parseHeaders, parseRedirects } from "@/lib/staticsite/rules";
import { maxArtifactBytes, maxUnpackedSiteBytes } from "@/lib/staticsite/site-size";
import { defaultSiteHost, siteUrl as formatSiteUrl } from "@/lib/staticsite/site-url";
import { knownHash, objectHash } from "./child-drift";
import type { OperatorConfig } from "./config";
import { CONFIG_DIR, CONFIG_FILE, configHash, HEALTH_PATH, LISTEN_PORT, renderNginxConfig, SITE_ROOT } from "./nginx-config";
import type { ProxySettings, SiteRules } from "./nginx-rules";

export type ChildConfig = Pick<
  OperatorConfig,
  "nginxImage" | "fetchImage" | "imagePullPolicy" | "ingressClass" | "tls" | "clusterIssuer" | "defaultDomain" | "siteScheme" | "sitePort"
> &
  Partial<Pick<OperatorConfig, "proxy">>;

/** UID and GID of the nginx-unprivileged image's nginx user. */
export const NGINX_UID = 101;
/** Seconds a terminating nginx keeps serving while ingress controllers catch up. */
export const PRE_STOP_SECONDS = 5;

export const FETCH_SCRIPT_MOUNT = "/site";

const MiB = 1024 * 1024;
/** nginx's pid file and temp paths, next to the downloaded artifact in /tmp. */
export const NGINX_TMP_BYTES = 64 * MiB;

/** Whole MiB, rounded up: a quantity the API server keeps as written. */
function mebibytes(bytes: number): string {
  return `${Math.ceil(bytes / MiB)}Mi`;
}

/**
 * emptyDir size limits, from the upload limits rather than a guess: the site
 * volume holds the largest site the upload pipeline accepts with its .gz
 * siblings; /tmp holds the largest artifact while it is checked and unpacked,
 * plus nginx's own temp files. The kubelet evicts a pod that outgrows them.
 */
export const SITE_VOLUME_LIMIT = mebibytes(maxUnpackedSiteBytes());
export const TMP_VOLUME_LIMIT = mebibytes(maxArtifactBytes() + NGINX_TMP_BYTES);

export function childNames(siteName: string) {
  return {
    deployment: siteName,
    service: siteName,
    ingress: siteName,
    pdb: siteName,
    configMap: `${siteName}-nginx`,
    tlsSecret: `${siteName}-tls`,
  };
}

export function ownerReference(site: StaticSite): V1OwnerReference {
  if (!site.metadata.uid) throw new Error(`StaticSite ${site.metadata.namespace}/${site.metadata.name} has no uid`);
  return {
    apiVersion: STATICSITE_API_VERSION,
    kind: STATICSITE_KIND,
    name: site.metadata.name,
    uid: site.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Immutable on Deployments, so it holds only labels that never change for a site. */
export function selectorLabels(site: StaticSite): Record<string, string> {
  return { [LABEL_MANAGED_BY]: LABEL_MANAGED_BY_VALUE, [LABEL_NAME]: site.metadata.name };
}

function meta(site: StaticSite, name: string) {
  return {
    name,
    namespace: site.metadata.namespace,
    labels: siteLabels(site),
    ownerReferences: [ownerReference(site)],
  };
}

export function desiredReplicas(site: StaticSite): number {
  return site.spec.suspend ? 0 : (site.spec.replicas ?? REPLICAS_DEFAULT);
}

/** Hosts the Ingress serves: the spec's, or one derived from the default domain. */
export function effectiveHosts(site: StaticSite, config: Pick<ChildConfig, "defaultDomain">): string[] {
  if (site.spec.hosts && site.spec.hosts.length > 0) return [...site.spec.hosts];
  if (!config.defaultDomain) return [];
  const host = defaultSiteHost(site.metadata.name, site.metadata.namespace, config.defaultDomain);
  return host ? [host] : [];
}

/**
 * The address status.url reports, written by the same rule as the dashboard's
 * (lib/staticsite/site-url.ts). `hosts`: those the site is allowed to serve
 * (operator/hosts.ts); by default all it asks for. Without a host, the
 * Service's in-cluster name, which answers on plain HTTP port 80.
 */
export function siteUrl(
  site: StaticSite,
  config: Pick<ChildConfig, "defaultDomain" | "siteScheme" | "sitePort">,
  hosts: readonly string[] = effectiveHosts(site, config),
): string {
  const host = hosts[0];
  if (host) return formatSiteUrl({ scheme: config.siteScheme, host, port: config.sitePort });
  return formatSiteUrl({ scheme: "http", host: `${childNames(site.metadata.name).service}.${site.metadata.namespace}.svc.cluster.local` });
}

export function nginxConfigFor(site: StaticSite, proxy?: ProxySettings): string {
  return siteNginxConfig(site, proxy).text;
}

/**
 * Nearly every site has one of a few configurations (spa or not, a handful
 * of 404 pages, no rules), yet each reconcile of each site rendered and
 * hashed its 2.5 KB anew. Kept per distinct (spa, notFoundPage, digest of the
 * rules' text), which also makes every desired ConfigMap share one string.
 * Bounded in entries and in bytes: with rules, one config can be hundreds of
 * KiB, and both notFoundPage and the rules are the site owner's choice.
 */
export class RenderedConfigCache {
  private readonly entries = new Map<string, { text: string; hash: string }>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(key: string): { text: string; hash: string } | undefined {
    return this.entries.get(key);
  }

  set(key: string, text: string): { text: string; hash: string } {
    // Emptied whole when full: the few common configs come back on the next reconciles.
    if (this.entries.size >= this.maxEntries || this.bytes + text.length > this.maxBytes) {
      this.entries.clear();
      this.bytes = 0;
    }
    const rendered = { text, hash: configHash(text) };
    this.entries.set(key, rendered);
    this.bytes += text.length;
    return rendered;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}

const renderedConfigs = new RenderedConfigCache(256, 16 * 1024 * 1024);

/** Digest of a spec's rules, per rules object: informer objects are kept until they change, so each text is hashed once. */
const rulesDigests = new WeakMap<object, string>();

function rulesKey(rules: StaticSite["spec"]["rules"]): string {
  if (!rules) return "";
  let digest = rulesDigests.get(rules);
  if (digest === undefined) {
    const hash = createHash("sha256");
    // Lengths first, so that no split of one text between the two fields hashes like another.
    for (const text of [rules.redirects, rules.headers]) hash.update(text === undefined ? "-\n" : `${text.length}\n${text}`);
    digest = hash.digest("hex");
    rulesDigests.set(rules, digest);
  }
  return digest;
}

/** A spec whose rules do not parse: the site keeps the children it has (its last good config), and its status says why. */
export class RulesInvalidError extends Error {
  override readonly name = "RulesInvalidError";
}

/** The spec's rules parsed with the dashboard's own parser; what the dashboard accepted, this accepts. */
export function parseSiteRules(rules: StaticSite["spec"]["rules"], proxy?: ProxySettings): SiteRules | undefined {
  if (!rules) return undefined;
  // The operator's own allow-list, not the dashboard's word: a StaticSite written by hand is held to it too.
  const redirects = parseRedirects(rules.redirects ?? "", { proxyOrigins: proxy?.origins ?? [] });
  const headers = parseHeaders(rules.headers ?? "");
  const errors = [
    ...(redirects.ok ? [] : redirects.errors.map((e) => (e.line === 0 ? e.message : `_redirects ${e.message}`))),
    ...(headers.ok ? [] : headers.errors.map((e) => (e.line === 0 ? e.message : `_headers ${e.message}`))),
  ];
  if (!redirects.ok || !headers.ok) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    throw new RulesInvalidError(`spec.rules: ${errors[0]}${more}`);
  }
  return { redirects: redirects.rules, headers: headers.rules };
}

function siteNginxConfig(site: StaticSite, proxy: ProxySettings | undefined): { text: string; hash: string } {
  const spa = site.spec.spa ?? false;
  const notFoundPage = site.spec.notFoundPage;
  const proxyKey = proxy ? `${proxy.origins.join(",")}|${proxy.resolver ?? ""}` : "";
  const key = `${spa}|${notFoundPage === undefined ? "" : `/${notFoundPage}`}|${rulesKey(site.spec.rules)}|${proxyKey}`;
  // Throws for a value nginx must never see; nothing is kept then.
  return renderedConfigs.get(key) ?? renderedConfigs.set(key, renderNginxConfig({ spa, notFoundPage, rules: parseSiteRules(site.spec.rules, proxy), proxy }));
}

/** Entries and bytes of the render cache, for tests of its bound. */
export function renderedConfigCacheSize(): { entries: number; bytes: number } {
  return renderedConfigs.size;
}

export function desiredConfigMap(site: StaticSite, nginxConf: string): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(site, childNames(site.metadata.name).configMap),
    data: { [CONFIG_FILE]: nginxConf },
  };
}

const { requests, limits } = SITE_CONTAINER_RESOURCES;
const containerResources = () => ({
  requests: { cpu: `${requests.cpuMillis}m`, memory: `${requests.memoryMiB}Mi` },
  limits: { cpu: `${limits.cpuMillis}m`, memory: `${limits.memoryMiB}Mi` },
});

const restrictedContainer: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: NGINX_UID,
  runAsGroup: NGINX_UID,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

// Messages go to the termination log, where the operator reads them into the
// StaticSite's status. The signed query string is never printed. The time
// limit comes from `timeout`, not `wget -T`: Debian's static busybox 1.35
// crashes on -T (SIGSEGV before connecting).
export const FETCH_SCRIPT = `set -eu
fail() { echo "$1" > /dev/termination-log; echo "$1" >&2; exit 1; }
where="\${ARTIFACT_URL%%\\?*}"
want="\${ARTIFACT_DIGEST#sha256:}"
timeout 120 wget -q -O /tmp/artifact.tgz "$ARTIFACT_URL" || fail "artifact download failed from $where"
got="$(sha256sum /tmp/artifact.tgz | cut -d ' ' -f 1)"
[ "$got" = "$want" ] || fail "artifact digest mismatch: expected sha256:$want, got sha256:$got"
tar -xzf /tmp/artifact.tgz -C ${FETCH_SCRIPT_MOUNT} || fail "artifact is not a valid gzip-compressed tar archive"
rm -f /tmp/artifact.tgz
echo "fetched sha256:$got"
`;

export function fetchContainer(site: StaticSite, config: ChildConfig): V1Container {
  return {
    name: "fetch",
    image: config.fetchImage,
    imagePullPolicy: config.imagePullPolicy,
    command: ["/bin/sh", "-c", FETCH_SCRIPT],
    // Passed as environment, never spliced into the script, so no URL can inject shell.
    env: [
      { name: "ARTIFACT_URL", value: site.spec.artifact.url },
      { name: "ARTIFACT_DIGEST", value: site.spec.artifact.digest },
    ],
    volumeMounts: [
      { name: "site", mountPath: FETCH_SCRIPT_MOUNT },
      { name: "tmp", mountPath: "/tmp" },
    ],
    resources: containerResources(),
    securityContext: restrictedContainer,
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
}

export function nginxContainer(config: ChildConfig): V1Container {
  return {
    name: "nginx",
    image: config.nginxImage,
    imagePullPolicy: config.imagePullPolicy,
    // Bypasses the image's entrypoint scripts, which write into /etc/nginx.
    command: ["nginx", "-c", `${CONFIG_DIR}/${CONFIG_FILE}`, "-g", "daemon off;"],
    ports: [{ name: "http", containerPort: LISTEN_PORT, protocol: "TCP" }],
    volumeMounts: [
      { name: "site", mountPath: SITE_ROOT, readOnly: true },
      { name: "config", mountPath: CONFIG_DIR, readOnly: true },
      { name: "tmp", mountPath: "/tmp" },
    ],
    resources: containerResources(),
    readinessProbe: {
      httpGet: { path: HEALTH_PATH, port: "http" },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 2,
    },
    livenessProbe: {
      httpGet: { path: HEALTH_PATH, port: "http" },
      initialDelaySeconds: 5,
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    // A terminating pod leaves the Service's endpoints at once, but ingress
    // controllers learn of it a moment later and keep sending it requests
    // meanwhile. Serving on for a few seconds before nginx is told to stop
    // is what keeps a rollout free of failed requests (measured: without
    // it, a 504 per rollout through Traefik).
    lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
    securityContext: restrictedContainer,
  };
}

export function desiredDeployment(site: StaticSite, config: ChildConfig, nginxConfHash: string): V1Deployment {
  const names = childNames(site.metadata.name);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(site, names.deployment),
    spec: {
      replicas: desiredReplicas(site),
      revisionHistoryLimit: 3,
      progressDeadlineSeconds: 300,
      selector: { matchLabels: selectorLabels(site) },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: SITE_ROLLOUT_SURGE } },
      template: {
        metadata: {
          labels: siteLabels(site),
          annotations: {
            [ANNOTATION_DIGEST]: site.spec.artifact.digest,
            [ANNOTATION_CONFIG_HASH]: nginxConfHash,
          },
        },
        spec: {
          terminationGracePeriodSeconds: PRE_STOP_SECONDS + 15,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: NGINX_UID,
            runAsGroup: NGINX_UID,
            fsGroup: NGINX_UID,
            seccompProfile: { type: "RuntimeDefault" },
          },
          initContainers: [fetchContainer(site, config)],
          containers: [nginxContainer(config)],
          volumes: [
            { name: "site", emptyDir: { sizeLimit: SITE_VOLUME_LIMIT } },
            { name: "tmp", emptyDir: { sizeLimit: TMP_VOLUME_LIMIT } },
            { name: "config", configMap: { name: names.configMap } },
          ],
        },
      },
    },
  };
}

export function desiredService(site: StaticSite): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(site, childNames(site.metadata.name).service),
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(site),
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  };
}

/** Undefined when the site should have no Ingress (suspended, or no host to serve). */
export function desiredIngress(site: StaticSite, config: ChildConfig, allowedHosts: readonly string[] = effectiveHosts(site, config)): V1Ingress | undefined {
  if (site.spec.suspend) return undefined;
  const hosts = [...allowedHosts];
  if (hosts.length === 0) return undefined;
  const names = childNames(site.metadata.name);
  const base = meta(site, names.ingress);
  const annotations: Record<string, string> = {};
  if (config.tls && config.clusterIssuer) annotations["cert-manager.io/cluster-issuer"] = config.clusterIssuer;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: Object.keys(annotations).length > 0 ? { ...base, annotations } : base,
    spec: {
      ...(config.ingressClass ? { ingressClassName: config.ingressClass } : {}),
      ...(config.tls ? { tls: [{ hosts, secretName: names.tlsSecret }] } : {}),
      rules: hosts.map((host) => ({
        host,
        http: {
          paths: [
            {
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: names.service, port: { name: "http" } } },
            },
          ],
        },
      })),
    },
  };
}

/** Only worth having with more than one replica: with one, it would block every node drain. */
export function desiredPdb(site: StaticSite): V1PodDisruptionBudget | undefined {
  if (desiredReplicas(site) <= 1) return undefined;
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta(site, childNames(site.metadata.name).pdb),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(site) } },
  };
}

export interface DesiredChildren {
  configMap: V1ConfigMap;
  deployment: V1Deployment;
  service: V1Service;
  ingress: V1Ingress | undefined;
  pdb: V1PodDisruptionBudget | undefined;
}

/** `hosts`: those the site is allowed to serve; the Ingress gets a rule for each and no other. */
export function desiredChildren(site: StaticSite, config: ChildConfig, hosts: readonly string[] = effectiveHosts(site, config)): DesiredChildren {
  const conf = siteNginxConfig(site, config.proxy);
  const children: DesiredChildren = {
    configMap: desiredConfigMap(site, conf.text),
    deployment: desiredDeployment(site, config, conf.hash),
    service: desiredService(site),
    ingress: desiredIngress(site, config, hosts),
    pdb: desiredPdb(site),
  };
  reuseHashes(site, config, hosts, children);
  return children;
}

/**
 * Every reconcile builds a site's children afresh, and hashing them for the
 * applied-hash annotation (child-drift.ts) was the largest part of the
 * reconcile logic in a profile, though a site's children rarely change.
 * They are a function of what the key below holds (the builders read
 * nothing else but constants), so while it is unchanged the hashes are the
 * same: kept per site, at about 100 bytes each, and computed only when the
 * site's spec, identity or granted hosts change. A new operator version
 * starts with none.
 */
const hashesBySite = new Map<string, { config: ChildConfig; inputs: string; hashes: Partial<Record<keyof DesiredChildren, string>> }>();
const HASHED_SITES_MAX = 20_000;

function reuseHashes(site: StaticSite, config: ChildConfig, hosts: readonly string[], children: DesiredChildren): void {
  const key = `${site.metadata.namespace}/${site.metadata.name}`;
  const { name, namespace, uid } = site.metadata;
  const inputs = objectHash([name, namespace, uid ?? null, site.spec, hosts]);
  let entry = hashesBySite.get(key);
  if (!entry || entry.config !== config || entry.inputs !== inputs) {
    const hashes: Partial<Record<keyof DesiredChildren, string>> = {};
    for (const kind of CHILD_KINDS) {
      const child = children[kind];
      if (child) hashes[kind] = objectHash(child);
    }
    // Deleted sites leave their entry behind; a bound keeps that from growing for good.
    if (!entry && hashesBySite.size >= HASHED_SITES_MAX) hashesBySite.clear();
    entry = { config, inputs, hashes };
    hashesBySite.set(key, entry);
  }
  for (const kind of CHILD_KINDS) {
    const child = children[kind];
    const hash = entry.hashes[kind];
    if (child && hash) knownHash(child, hash);
  }
}

const CHILD_KINDS = ["configMap", "deployment", "service", "ingress", "pdb"] as const satisfies readonly (keyof DesiredChildren)[];
