// Pure functions from a StaticSite (and the operator config) to the child
// objects it should have. No I/O here, so every rule is unit-testable.
import type {
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1Ingress,
  V1ObjectMeta,
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
import type { OperatorConfig, PoolConfig } from "./config";
import { mirrorPath } from "./pool/protocol";
import { CONFIG_DIR, CONFIG_FILE, configHash, HEALTH_PATH, LISTEN_PORT, renderNginxConfig, SITE_ROOT } from "./nginx-config";
import type { ProxySettings, SiteRules } from "./nginx-rules";

export type ChildConfig = Pick<
  OperatorConfig,
  "nginxImage" | "fetchImage" | "imagePullPolicy" | "ingressClass" | "tls" | "clusterIssuer" | "defaultDomain" | "siteScheme" | "sitePort"
> &
  Partial<Pick<OperatorConfig, "proxy" | "wildcardSecret" | "httpsRedirectMiddleware">> & {
    /** The shared pool, whose mirror a site's pod asks for its deploy first (docs/serving.md). */
    pool?: Pick<PoolConfig, "mirrorUrl">;
  };

/** cert-manager's Certificate, as far as the operator writes and reads it. */
export interface Certificate {
  apiVersion: "cert-manager.io/v1";
  kind: "Certificate";
  metadata: V1ObjectMeta;
  spec: {
    secretName: string;
    dnsNames: string[];
    issuerRef: { name: string; kind: "ClusterIssuer"; group: "cert-manager.io" };
  };
  status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    lastFailureTime?: string;
    notAfter?: string;
  };
}

export const CERTIFICATE_API_VERSION = "cert-manager.io/v1";
/** On each Certificate: the custom domain it is for (its name holds only a digest of it). */
const ANNOTATION_DOMAIN = "pagoda.dev/domain";
export const ANNOTATION_TRAEFIK_MIDDLEWARES = "traefik.ingress.kubernetes.io/router.middlewares";

/** The site's custom domains as the reconciler found them: what arbitration granted and what cert-manager says. */
export interface CustomDomains {
  /** Granted by operator/hosts.ts decideDomains. */
  granted: readonly string[];
  /** Those whose Certificate reports Ready: only these get TLS and the HTTPS redirect. */
  certified: readonly string[];
  /** The API server serves cert-manager's Certificate kind; without it no Certificate is asked for. */
  certManager: boolean;
}

const NO_CUSTOM_DOMAINS: CustomDomains = { granted: [], certified: [], certManager: false };

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
    /** Custom domains whose certificate is Ready, apart: the HTTPS redirect applies to every rule of an Ingress. */
    domainIngress: `${siteName}-domains`,
  };
}

/**
 * The Certificate (and its Secret) of one custom domain: named by a digest of
 * the domain, since a domain can be longer than an object name may be, and
 * stable, so the same domain keeps the same certificate across reconciles.
 */
export function certificateName(siteName: string, domain: string): string {
  return `${siteName}-domain-${createHash("sha256").update(domain).digest("hex").slice(0, 12)}`;
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
//
// With a pool, the pool's mirror is asked first (ARTIFACT_MIRROR_URL): it
// holds every dedicated site's deploy, so a pod that restarts while the
// dashboard is down still starts. A new deploy is not mirrored yet when its
// first pods start: the mirror answers 404 at once and the artifact URL is
// used, as it is whenever the mirror's copy is missing, slow or wrong.
export const FETCH_SCRIPT = `set -eu
fail() { echo "$1" > /dev/termination-log; echo "$1" >&2; exit 1; }
where="\${ARTIFACT_URL%%\\?*}"
want="\${ARTIFACT_DIGEST#sha256:}"
got=""
if [ -n "\${ARTIFACT_MIRROR_URL:-}" ] && timeout 30 wget -q -O /tmp/artifact.tgz "$ARTIFACT_MIRROR_URL" 2>/dev/null; then
  got="$(sha256sum /tmp/artifact.tgz | cut -d ' ' -f 1)"
  if [ "$got" = "$want" ]; then echo "from the pool's mirror"; else echo "the pool's mirror sent sha256:$got; using the artifact URL" >&2; got=""; fi
fi
if [ -z "$got" ]; then
  rm -f /tmp/artifact.tgz
  timeout 120 wget -q -O /tmp/artifact.tgz "$ARTIFACT_URL" || fail "artifact download failed from $where"
  got="$(sha256sum /tmp/artifact.tgz | cut -d ' ' -f 1)"
  [ "$got" = "$want" ] || fail "artifact digest mismatch: expected sha256:$want, got sha256:$got"
fi
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
      ...(config.pool?.mirrorUrl ? [{ name: "ARTIFACT_MIRROR_URL", value: `${config.pool.mirrorUrl}${mirrorPath(site.spec.artifact.digest)}` }] : []),
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

function ingressRule(host: string, service: string) {
  return {
    host,
    http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: service, port: { name: "http" } } } }] },
  };
}

/**
 * The site's Ingress: its built-in hosts, and the custom domains whose
 * certificate is not Ready yet (served over plain HTTP meanwhile, so a failing
 * issuance never takes the site off any address it had). Its TLS section
 * covers the built-in hosts only: with a wildcard Secret that Secret, else one
 * certificate per site through cert-manager's Ingress annotation. Undefined
 * when suspended or with nothing to serve.
 */
export function desiredIngress(
  site: StaticSite,
  config: ChildConfig,
  allowedHosts: readonly string[] = effectiveHosts(site, config),
  domains: CustomDomains = NO_CUSTOM_DOMAINS,
): V1Ingress | undefined {
  if (site.spec.suspend) return undefined;
  const hosts = [...allowedHosts];
  const certified = new Set(domains.certified);
  const plainDomains = domains.granted.filter((d) => !certified.has(d) && !hosts.includes(d));
  if (hosts.length === 0 && plainDomains.length === 0) return undefined;
  const names = childNames(site.metadata.name);
  const base = meta(site, names.ingress);
  const annotations: Record<string, string> = {};
  const tlsSecret = config.wildcardSecret ?? names.tlsSecret;
  if (config.tls && config.clusterIssuer && !config.wildcardSecret && hosts.length > 0) annotations["cert-manager.io/cluster-issuer"] = config.clusterIssuer;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: Object.keys(annotations).length > 0 ? { ...base, annotations } : base,
    spec: {
      ...(config.ingressClass ? { ingressClassName: config.ingressClass } : {}),
      ...(config.tls && hosts.length > 0 ? { tls: [{ hosts, secretName: tlsSecret }] } : {}),
      rules: [...hosts, ...plainDomains].map((host) => ingressRule(host, names.service)),
    },
  };
}

/**
 * The custom domains whose Certificate is Ready, each with its own Secret in
 * the TLS section, and the HTTPS redirect middleware when one is configured
 * (Traefik's redirectScheme passes a request that already arrived over HTTPS
 * through, so the one annotation serves both entry points). Undefined when
 * suspended or when no domain is certified.
 */
export function desiredDomainIngress(site: StaticSite, config: ChildConfig, domains: CustomDomains = NO_CUSTOM_DOMAINS): V1Ingress | undefined {
  if (site.spec.suspend) return undefined;
  const granted = new Set(domains.granted);
  const certified = domains.certified.filter((d) => granted.has(d));
  if (certified.length === 0) return undefined;
  const names = childNames(site.metadata.name);
  const base = meta(site, names.domainIngress);
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: config.httpsRedirectMiddleware ? { ...base, annotations: { [ANNOTATION_TRAEFIK_MIDDLEWARES]: config.httpsRedirectMiddleware } } : base,
    spec: {
      ...(config.ingressClass ? { ingressClassName: config.ingressClass } : {}),
      tls: certified.map((d) => ({ hosts: [d], secretName: certificateName(site.metadata.name, d) })),
      rules: certified.map((d) => ingressRule(d, names.service)),
    },
  };
}

/**
 * One Certificate per granted custom domain, so that one domain whose
 * issuance fails holds up no other. Kept while the site is suspended: asking
 * again on resume would spend the issuer's rate limit. None without a
 * ClusterIssuer or without cert-manager in the cluster.
 */
export function desiredCertificates(site: StaticSite, config: ChildConfig, domains: CustomDomains = NO_CUSTOM_DOMAINS): Certificate[] {
  if (!config.clusterIssuer || !domains.certManager) return [];
  return domains.granted.map((domain) => {
    const name = certificateName(site.metadata.name, domain);
    const base = meta(site, name);
    return {
      apiVersion: CERTIFICATE_API_VERSION,
      kind: "Certificate",
      metadata: { ...base, annotations: { [ANNOTATION_DOMAIN]: domain } },
      spec: {
        secretName: name,
        dnsNames: [domain],
        issuerRef: { name: config.clusterIssuer!, kind: "ClusterIssuer", group: "cert-manager.io" },
      },
    };
  });
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
  domainIngress: V1Ingress | undefined;
  pdb: V1PodDisruptionBudget | undefined;
  /** By name; every other Certificate the site controls is to be deleted. */
  certificates: Certificate[];
}

/**
 * The contract: a pure function of the site, the config and what the
 * reconciler decided from its caches. `hosts`: the built-in hosts the site is
 * allowed to serve (decideHosts); the Ingress gets a rule for each and no
 * other. `domains`: its granted custom domains (decideDomains), which of them
 * have a Ready Certificate, and whether cert-manager is there at all; each
 * granted domain gets a Certificate, and a rule in the site's Ingress until
 * its certificate is Ready, then in the domain Ingress with TLS instead.
 */
export function desiredChildren(
  site: StaticSite,
  config: ChildConfig,
  hosts: readonly string[] = effectiveHosts(site, config),
  domains: CustomDomains = NO_CUSTOM_DOMAINS,
): DesiredChildren {
  const conf = siteNginxConfig(site, config.proxy);
  const children: DesiredChildren = {
    configMap: desiredConfigMap(site, conf.text),
    deployment: desiredDeployment(site, config, conf.hash),
    service: desiredService(site),
    ingress: desiredIngress(site, config, hosts, domains),
    domainIngress: desiredDomainIngress(site, config, domains),
    pdb: desiredPdb(site),
    certificates: desiredCertificates(site, config, domains),
  };
  reuseHashes(site, config, [hosts, domains.granted, domains.certified, domains.certManager], children);
  return children;
}

/**
 * Every reconcile builds a site's children afresh, and hashing them for the
 * applied-hash annotation (child-drift.ts) was the largest part of the
 * reconcile logic in a profile, though a site's children rarely change.
 * They are a function of what the key below holds (the builders read
 * nothing else but constants), so while it is unchanged the hashes are the
 * same: kept per site, at about 100 bytes each, and computed only when the
 * site's spec, identity, granted hosts or custom domains change. A new operator version
 * starts with none.
 */
const hashesBySite = new Map<string, { config: ChildConfig; inputs: string; hashes: Partial<Record<HashedKind, string>> }>();
const HASHED_SITES_MAX = 20_000;

function reuseHashes(site: StaticSite, config: ChildConfig, decided: unknown, children: DesiredChildren): void {
  const key = `${site.metadata.namespace}/${site.metadata.name}`;
  const { name, namespace, uid } = site.metadata;
  const inputs = objectHash([name, namespace, uid ?? null, site.spec, decided]);
  let entry = hashesBySite.get(key);
  if (!entry || entry.config !== config || entry.inputs !== inputs) {
    const hashes: Partial<Record<HashedKind, string>> = {};
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

// Certificates are few, small and only on sites with custom domains: hashed when applied.
const CHILD_KINDS = ["configMap", "deployment", "service", "ingress", "domainIngress", "pdb"] as const satisfies readonly (keyof DesiredChildren)[];
type HashedKind = (typeof CHILD_KINDS)[number];
