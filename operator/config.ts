// Operator configuration, read once from the environment and validated before
// anything starts, so a typo fails at boot with the variable's name.
import os from "node:os";
import { z } from "zod";
import { originHasIpHost, parseProxyOrigins } from "@/lib/staticsite/rules";
import { SITE_SCHEMES, type SiteScheme } from "@/lib/staticsite/site-url";
import type { ProxySettings } from "./nginx-rules";
import { MIRROR_PORT } from "./pool/protocol";

const boolFromEnv = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "expected true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const durationSeconds = z.coerce.number().positive().max(86_400);

// Kubernetes object names for the Lease; DNS-1123 subdomain.
const objectName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "expected a lowercase DNS name");

const dnsDomain = z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "expected a lowercase DNS domain");

// Equality-based label selector terms: `key`, `!key`, `key=value`,
// `key==value`, `key!=value`. At least one term must require a label, or the
// selector would also match namespaces nobody marked as Pagoda's.
const SELECTOR_TERM = /^(!?)([A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?)(?:\s*(==|=|!=)\s*([A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?)?$/;
const namespaceSelector = z.string().superRefine((selector, ctx) => {
  const terms = selector.split(",").map((t) => SELECTOR_TERM.exec(t.trim()));
  if (terms.some((t) => !t)) {
    ctx.addIssue({ code: "custom", message: "expected a label selector such as app.kubernetes.io/managed-by=pagoda" });
  } else if (!terms.some((t) => t && t[1] === "" && t[3] !== "!=")) {
    ctx.addIssue({ code: "custom", message: "must require a label (key or key=value): negations alone also match unlabelled namespaces" });
  }
});

const envSchema = z.object({
  PAGODA_OPERATOR_NGINX_IMAGE: z.string().min(1).default("nginxinc/nginx-unprivileged:1.27-alpine"),
  PAGODA_OPERATOR_FETCH_IMAGE: z.string().min(1).default("busybox:1.37"),
  PAGODA_OPERATOR_IMAGE_PULL_POLICY: z.enum(["Always", "IfNotPresent", "Never"]).default("IfNotPresent"),
  PAGODA_OPERATOR_INGRESS_CLASS: z.string().min(1).optional(),
  PAGODA_OPERATOR_TLS: boolFromEnv.default(false),
  PAGODA_OPERATOR_CLUSTER_ISSUER: z.string().min(1).optional(),
  /** Hosts for sites that list none: `<site>-<namespace>.<domain>`. Without it such sites get no Ingress. */
  PAGODA_OPERATOR_DEFAULT_DOMAIN: dnsDomain.optional(),
  /** The dashboard's public host name: no site may take it (or a name under it) as a custom domain. */
  PAGODA_DASHBOARD_HOST: dnsDomain.optional(),
  /** A TLS Secret, present in every site namespace, holding `*.<PAGODA_BASE_DOMAIN>`: built-in hosts use it instead of a certificate each. */
  PAGODA_OPERATOR_WILDCARD_SECRET: objectName.optional(),
  /** Traefik middleware (`<name>@<provider>`) that redirects to HTTPS; put on custom domains once their certificate is Ready. */
  PAGODA_OPERATOR_HTTPS_REDIRECT_MIDDLEWARE: z
    .string()
    .regex(/^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?@[a-z0-9]+$/, {
      message: "expected a Traefik middleware reference such as default-https-redirect@kubernetescrd",
    })
    .optional(),
  /** Shared with the dashboard: sites may only serve this domain and names one label below it. */
  PAGODA_BASE_DOMAIN: dnsDomain.default("pagoda.localhost"),
  /** Shared with the dashboard: how status.url is written. Unset, it follows PAGODA_OPERATOR_TLS. */
  PAGODA_SITE_SCHEME: z.enum(SITE_SCHEMES, { message: "expected http or https" }).optional(),
  /** Shared with the dashboard: the ingress's public port, when not the scheme's own. */
  PAGODA_SITE_PORT: z.coerce
    .number({ message: "expected a port number" })
    .int("expected a port number")
    .min(1, "expected a port number from 1 to 65535")
    .max(65_535, "expected a port number from 1 to 65535")
    .optional(),
  /** Namespaces whose StaticSites are reconciled; all others are ignored. */
  PAGODA_OPERATOR_NAMESPACE_SELECTOR: namespaceSelector.default("app.kubernetes.io/managed-by=pagoda"),
  PAGODA_OPERATOR_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  PAGODA_OPERATOR_RESYNC_SECONDS: durationSeconds.default(600),
  PAGODA_OPERATOR_BACKOFF_BASE_MS: z.coerce.number().int().min(1).default(500),
  PAGODA_OPERATOR_BACKOFF_MAX_MS: z.coerce.number().int().min(1).default(300_000),
  PAGODA_OPERATOR_PORT: z.coerce.number().int().min(0).max(65_535).default(8081),
  PAGODA_OPERATOR_LEADER_ELECTION: boolFromEnv.default(true),
  PAGODA_OPERATOR_LEASE_NAME: objectName.default("pagoda-operator"),
  PAGODA_OPERATOR_LEASE_NAMESPACE: objectName.optional(),
  PAGODA_OPERATOR_LEASE_DURATION_SECONDS: durationSeconds.default(15),
  PAGODA_OPERATOR_LEASE_RENEW_SECONDS: durationSeconds.default(10),
  PAGODA_OPERATOR_IDENTITY: z.string().min(1).max(128).optional(),
  /** Seconds without any watch traffic or reconnect after which /readyz fails. */
  PAGODA_OPERATOR_WATCH_STALL_SECONDS: durationSeconds.default(120),
  /** Deadline of each API request; watches are exempt. */
  PAGODA_OPERATOR_API_TIMEOUT_SECONDS: durationSeconds.default(30),
  /** Shared with the dashboard: origins `_redirects` 200 rules may proxy to, comma-separated. Unset: no proxying. */
  PAGODA_PROXY_ORIGINS: z
    .string()
    .transform((text, ctx) => {
      try {
        return parseProxyOrigins(text);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: e instanceof Error ? e.message : String(e) });
        return z.NEVER;
      }
    })
    .optional(),
  /** DNS server (`address[:port]`) the site pods' nginx resolves proxied host names with. */
  PAGODA_PROXY_RESOLVER: z
    .string()
    .regex(/^(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?::[0-9]{1,5})?$/, {
      message: "expected the IPv4 address of a DNS server, with an optional port (e.g. 10.96.0.10, the cluster DNS Service's address)",
    })
    .optional(),
  /** Image of the shared serving pool's agent; unset: no pool, and sites asking for serving: shared are Degraded (PoolNotConfigured). */
  PAGODA_OPERATOR_POOL_IMAGE: z.string().min(1).optional(),
  /** Namespace of the pool's objects; not a tenant namespace (it must not match PAGODA_OPERATOR_NAMESPACE_SELECTOR). */
  PAGODA_OPERATOR_POOL_NAMESPACE: objectName
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "expected a namespace name (lowercase letters, digits and dashes)")
    .default("pagoda-serving"),
  PAGODA_OPERATOR_POOL_REPLICAS: z.coerce
    .number({ message: "expected a whole number of replicas" })
    .int("expected a whole number of replicas")
    .min(1, "expected at least 1 replica")
    .max(100, "expected at most 100 replicas")
    .default(2),
  /** A node directory for the agents' verified tarballs, so that a restarted pool pod serves without the dashboard; unset: an emptyDir. */
  PAGODA_OPERATOR_POOL_STORE_HOST_PATH: z
    .string()
    .regex(/^\/(?:[A-Za-z0-9._-]+\/?)*$/, "expected an absolute directory path such as /var/lib/pagoda-pool")
    .refine((p) => !p.split("/").includes(".."), "must not contain ..")
    .optional(),
  /** Bytes of tarballs each agent's store keeps before evicting those no site wants. */
  PAGODA_OPERATOR_POOL_STORE_MAX_BYTES: z.coerce
    .number({ message: "expected a number of bytes" })
    .int("expected a whole number of bytes")
    .min(64 * 1024 * 1024, "expected at least 64 MiB (67108864)")
    .optional(),
  /**
   * Where dedicated sites' pods fetch their deploy from the pool's mirror
   * before the artifact URL; unset: the pool's Service by its cluster DNS name.
   */
  PAGODA_OPERATOR_POOL_MIRROR_URL: z
    .url({ protocol: /^https?$/, message: "expected an http(s) URL such as http://pagoda-pool.pagoda-serving.svc:8084" })
    .refine((u) => !u.includes("?") && !u.includes("#"), "expected a URL without a query or fragment")
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  KUBECONFIG: z.string().min(1).optional(),
});

/** The shared serving pool, when PAGODA_OPERATOR_POOL_IMAGE is set. */
export interface PoolConfig {
  image: string;
  namespace: string;
  replicas: number;
  /** Node directory backing the agents' store; undefined: an emptyDir. */
  storeHostPath: string | undefined;
  storeMaxBytes: number | undefined;
  /** Base URL of the pool's mirror as dedicated sites' pods reach it (docs/serving.md); loadConfig always sets it, tests may not. */
  mirrorUrl?: string;
}

export interface OperatorConfig {
  nginxImage: string;
  fetchImage: string;
  imagePullPolicy: "Always" | "IfNotPresent" | "Never";
  ingressClass: string | undefined;
  tls: boolean;
  /**
   * ClusterIssuer of every certificate the operator asks for; without one, custom domains are served over plain HTTP.
   * Without `tls` it serves custom domains only: built-in hosts stay plain HTTP, with no annotation and no TLS section.
   */
  clusterIssuer: string | undefined;
  /** The dashboard's host: refused as a custom domain, with every name under it. */
  dashboardHost: string | undefined;
  /** TLS Secret for every built-in host instead of one certificate per site. */
  wildcardSecret: string | undefined;
  /** Traefik middleware reference for HTTP to HTTPS redirects of custom domains. */
  httpsRedirectMiddleware: string | undefined;
  defaultDomain: string | undefined;
  /** Hosts outside this domain and its one-label subdomains are refused. */
  baseDomain: string;
  /** Scheme of status.url; the dashboard's PAGODA_SITE_SCHEME. */
  siteScheme: SiteScheme;
  /** Port of status.url when not the scheme's default; the dashboard's PAGODA_SITE_PORT. */
  sitePort: number | undefined;
  /** Label selector of the namespaces the operator works in. */
  namespaceSelector: string;
  concurrency: number;
  resyncMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** 0 picks a free port (tests). */
  port: number;
  leaderElection: boolean;
  leaseName: string;
  /** Defaults to the pod's namespace in-cluster, else `default`. */
  leaseNamespace: string;
  leaseDurationMs: number;
  leaseRenewMs: number;
  identity: string;
  watchStallMs: number;
  /** Deadline of each API request except watches, which stay open by design. */
  apiTimeoutMs: number;
  /** Path of a kubeconfig; undefined means in-cluster or ~/.kube/config. */
  kubeconfigPath: string | undefined;
  /** Where proxy rules may go; undefined: proxying is off and every proxy rule is refused. */
  proxy: ProxySettings | undefined;
  /** The shared serving pool; undefined: none (PAGODA_OPERATOR_POOL_IMAGE unset). */
  pool: PoolConfig | undefined;
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid operator configuration:\n  ${issues.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

function inClusterNamespace(readFile: (p: string) => string | undefined): string | undefined {
  return readFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")?.trim() || undefined;
}

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  readFile: (p: string) => string | undefined = () => undefined,
): OperatorConfig {
  // Empty strings mean "unset": deployment templates often render absent values as "".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".") || "(environment)"}: ${issue.message}`));
  }
  const e = parsed.data;
  const issues: string[] = [];
  if (e.PAGODA_OPERATOR_WILDCARD_SECRET && !e.PAGODA_OPERATOR_TLS) {
    issues.push("PAGODA_OPERATOR_WILDCARD_SECRET: set, but PAGODA_OPERATOR_TLS is off; enable TLS or drop the secret");
  }
  if (e.PAGODA_OPERATOR_HTTPS_REDIRECT_MIDDLEWARE && !e.PAGODA_OPERATOR_CLUSTER_ISSUER) {
    issues.push(
      "PAGODA_OPERATOR_HTTPS_REDIRECT_MIDDLEWARE: set, but PAGODA_OPERATOR_CLUSTER_ISSUER is not; without certificates there is nothing to redirect to",
    );
  }
  if (e.PAGODA_DASHBOARD_HOST && e.PAGODA_DASHBOARD_HOST.length > 253) {
    issues.push("PAGODA_DASHBOARD_HOST: longer than a DNS name can be (253 characters)");
  }
  if (e.PAGODA_OPERATOR_DEFAULT_DOMAIN && e.PAGODA_OPERATOR_DEFAULT_DOMAIN !== e.PAGODA_BASE_DOMAIN) {
    issues.push(
      `PAGODA_OPERATOR_DEFAULT_DOMAIN: must equal PAGODA_BASE_DOMAIN (${e.PAGODA_BASE_DOMAIN}), or the hosts it gives sites would be refused; set both to the same domain`,
    );
  }
  if (e.PAGODA_OPERATOR_LEASE_RENEW_SECONDS >= e.PAGODA_OPERATOR_LEASE_DURATION_SECONDS) {
    issues.push("PAGODA_OPERATOR_LEASE_RENEW_SECONDS: must be shorter than PAGODA_OPERATOR_LEASE_DURATION_SECONDS, or two leaders can overlap");
  }
  if (e.PAGODA_OPERATOR_BACKOFF_BASE_MS > e.PAGODA_OPERATOR_BACKOFF_MAX_MS) {
    issues.push("PAGODA_OPERATOR_BACKOFF_BASE_MS: must not exceed PAGODA_OPERATOR_BACKOFF_MAX_MS");
  }
  const origins = e.PAGODA_PROXY_ORIGINS ?? [];
  if (e.PAGODA_PROXY_RESOLVER && origins.length === 0) {
    issues.push("PAGODA_PROXY_RESOLVER: set, but PAGODA_PROXY_ORIGINS is not; proxying is off without origins");
  }
  const named = origins.filter((o) => !originHasIpHost(o));
  if (named.length > 0 && !e.PAGODA_PROXY_RESOLVER) {
    issues.push(`PAGODA_PROXY_RESOLVER: required when PAGODA_PROXY_ORIGINS names a host (${named.join(", ")}); give the cluster DNS address`);
  }
  if (!e.PAGODA_OPERATOR_POOL_IMAGE) {
    for (const name of ["PAGODA_OPERATOR_POOL_STORE_HOST_PATH", "PAGODA_OPERATOR_POOL_STORE_MAX_BYTES", "PAGODA_OPERATOR_POOL_MIRROR_URL"] as const) {
      if (cleaned[name] !== undefined) issues.push(`${name}: set, but PAGODA_OPERATOR_POOL_IMAGE is not; without a pool image there is no pool`);
    }
  }
  if (e.PAGODA_OPERATOR_POOL_IMAGE && e.PAGODA_OPERATOR_LEASE_NAMESPACE === e.PAGODA_OPERATOR_POOL_NAMESPACE) {
    issues.push("PAGODA_OPERATOR_POOL_NAMESPACE: must not be the lease's namespace; the pool namespace holds only the pool's objects");
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    nginxImage: e.PAGODA_OPERATOR_NGINX_IMAGE,
    fetchImage: e.PAGODA_OPERATOR_FETCH_IMAGE,
    imagePullPolicy: e.PAGODA_OPERATOR_IMAGE_PULL_POLICY,
    ingressClass: e.PAGODA_OPERATOR_INGRESS_CLASS,
    tls: e.PAGODA_OPERATOR_TLS,
    clusterIssuer: e.PAGODA_OPERATOR_CLUSTER_ISSUER,
    dashboardHost: e.PAGODA_DASHBOARD_HOST,
    wildcardSecret: e.PAGODA_OPERATOR_WILDCARD_SECRET,
    httpsRedirectMiddleware: e.PAGODA_OPERATOR_HTTPS_REDIRECT_MIDDLEWARE,
    defaultDomain: e.PAGODA_OPERATOR_DEFAULT_DOMAIN,
    baseDomain: e.PAGODA_BASE_DOMAIN,
    siteScheme: e.PAGODA_SITE_SCHEME ?? (e.PAGODA_OPERATOR_TLS ? "https" : "http"),
    sitePort: e.PAGODA_SITE_PORT,
    namespaceSelector: e.PAGODA_OPERATOR_NAMESPACE_SELECTOR,
    concurrency: e.PAGODA_OPERATOR_CONCURRENCY,
    resyncMs: e.PAGODA_OPERATOR_RESYNC_SECONDS * 1000,
    backoffBaseMs: e.PAGODA_OPERATOR_BACKOFF_BASE_MS,
    backoffMaxMs: e.PAGODA_OPERATOR_BACKOFF_MAX_MS,
    port: e.PAGODA_OPERATOR_PORT,
    leaderElection: e.PAGODA_OPERATOR_LEADER_ELECTION,
    leaseName: e.PAGODA_OPERATOR_LEASE_NAME,
    leaseNamespace: e.PAGODA_OPERATOR_LEASE_NAMESPACE ?? inClusterNamespace(readFile) ?? "default",
    leaseDurationMs: e.PAGODA_OPERATOR_LEASE_DURATION_SECONDS * 1000,
    leaseRenewMs: e.PAGODA_OPERATOR_LEASE_RENEW_SECONDS * 1000,
    identity: e.PAGODA_OPERATOR_IDENTITY ?? `${os.hostname()}-${process.pid}`,
    watchStallMs: e.PAGODA_OPERATOR_WATCH_STALL_SECONDS * 1000,
    apiTimeoutMs: e.PAGODA_OPERATOR_API_TIMEOUT_SECONDS * 1000,
    kubeconfigPath: e.KUBECONFIG,
    proxy: origins.length > 0 ? { origins, ...(e.PAGODA_PROXY_RESOLVER ? { resolver: e.PAGODA_PROXY_RESOLVER } : {}) } : undefined,
    pool: e.PAGODA_OPERATOR_POOL_IMAGE
      ? {
          image: e.PAGODA_OPERATOR_POOL_IMAGE,
          namespace: e.PAGODA_OPERATOR_POOL_NAMESPACE,
          replicas: e.PAGODA_OPERATOR_POOL_REPLICAS,
          storeHostPath: e.PAGODA_OPERATOR_POOL_STORE_HOST_PATH,
          storeMaxBytes: e.PAGODA_OPERATOR_POOL_STORE_MAX_BYTES,
          mirrorUrl: e.PAGODA_OPERATOR_POOL_MIRROR_URL ?? `http://pagoda-pool.${e.PAGODA_OPERATOR_POOL_NAMESPACE}.svc:${MIRROR_PORT}`,
        }
      : undefined,
  };
}
