import { parse as parseHost } from "tldts";
import { z } from "zod";
import { parseProxyOrigins } from "@/lib/staticsite/rules/proxy";
import { SERVING_MODES } from "@/lib/staticsite/schema";

/**
 * Dashboard configuration, read from the environment once and validated.
 * A wrong or missing variable is reported by name and stops the process at
 * start (see instrumentation.ts) instead of failing on the first request.
 */
const secret = (name: string) =>
  z
    .string({ error: `${name} is required (at least 32 characters; the run command generates one)` })
    .min(32, { error: `${name} must be at least 32 characters long` });

const positiveInt = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a whole number` })
    .int({ error: `${name} must be a whole number` })
    .positive({ error: `${name} must be at least 1` });

const dnsLabel = (name: string) =>
  z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { error: `${name} must be a Kubernetes namespace name (lower-case letters, digits and -, at most 63)` });

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const isIpv6 = (text: string) => text.includes(":") && /^[0-9a-f:.]+$/i.test(text) && URL.canParse(`http://[${text}]/`);

/** `address` or, with `withPort`, `address:port` / `[v6]:port`; normalised to what node:dns setServers takes. */
function ipEntry(entry: string, withPort: boolean): string | null {
  if (IPV4_RE.test(entry) || isIpv6(entry)) return entry;
  if (!withPort) return null;
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(entry);
  if (!match) return null;
  const host = match[1] ?? match[2] ?? "";
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return null;
  if (match[1] !== undefined ? !isIpv6(host) : !IPV4_RE.test(host)) return null;
  return entry;
}

const ipList = (name: string, withPort: boolean) =>
  z
    .string()
    .default("")
    .transform((text, context) => {
      const entries = text
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry !== "");
      const bad = entries.filter((entry) => ipEntry(entry, withPort) === null);
      if (bad.length > 0) {
        const form = withPort
          ? "IP addresses, each optionally with :port (10.0.0.53, 10.0.0.53:5353, [fd00::53]:53)"
          : "IP addresses (203.0.113.10, 2001:db8::10)";
        context.addIssue({ code: "custom", message: `${name} must be comma-separated ${form}; not: ${bad.join(", ")}` });
        return z.NEVER;
      }
      return entries;
    });

const BASE_DOMAIN_RE = /^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

const schema = z
  .object({
    DATABASE_URL: z
      .string({ error: "DATABASE_URL is required (the run command starts a local Postgres when it is unset)" })
      .regex(/^postgres(ql)?:\/\//, { error: "DATABASE_URL must be a postgres:// or postgresql:// URL" }),
    NEXTAUTH_URL: z.url({ error: "NEXTAUTH_URL must be the dashboard's public URL, e.g. http://localhost:3000" }).default("http://localhost:3000"),
    NEXTAUTH_SECRET: secret("NEXTAUTH_SECRET"),
    PAGODA_ARTIFACT_SECRET: secret("PAGODA_ARTIFACT_SECRET"),
    PAGODA_BASE_DOMAIN: z
      .string()
      .regex(BASE_DOMAIN_RE, {
        error: "PAGODA_BASE_DOMAIN must be a lower-case DNS name such as pagoda.example.com",
      })
      .default("pagoda.localhost"),
    PAGODA_SITE_SCHEME: z.enum(["http", "https"], { error: "PAGODA_SITE_SCHEME must be http or https" }).default("https"),
    // Dedicated: an install without the pool must still serve every site. The
    // serving-pool component and `npm start` on a real node set shared (docs/serving.md).
    PAGODA_SITE_SERVING: z.enum(SERVING_MODES, { error: "PAGODA_SITE_SERVING must be dedicated or shared" }).default("dedicated"),
    PAGODA_SITE_PORT: z.coerce
      .number({ error: "PAGODA_SITE_PORT must be a port number" })
      .int()
      .min(1)
      .max(65535, { error: "PAGODA_SITE_PORT must be a port number" })
      .optional(),
    PAGODA_DATA_DIR: z.string().min(1).default(".data"),
    /** Where pods fetch artifacts from; defaults to NEXTAUTH_URL. */
    PAGODA_ARTIFACT_BASE_URL: z
      .url({ error: "PAGODA_ARTIFACT_BASE_URL must be a URL the cluster's pods can reach, e.g. http://pagoda-dashboard.pagoda:3000" })
      .optional(),
    PAGODA_ARTIFACT_KEY_ID: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, { error: "PAGODA_ARTIFACT_KEY_ID must be 1-32 letters, digits, _ or -" })
      .default("k1"),
    /**
     * Namespace of the ingress controller's pods. When set, every tenant
     * namespace gets the NetworkPolicy pagoda-sites (lib/publishing/tenant-policy.ts).
     */
    PAGODA_INGRESS_NAMESPACE: dnsLabel("PAGODA_INGRESS_NAMESPACE").optional(),
    /** Namespace of the dashboard's own pods, which site pods may download artifacts from. */
    PAGODA_DASHBOARD_NAMESPACE: dnsLabel("PAGODA_DASHBOARD_NAMESPACE").default("pagoda"),
    /**
     * Namespace of the shared serving pool (the operator's PAGODA_OPERATOR_POOL_NAMESPACE),
     * when there is one: tenant policies then let site pods fetch their deploy from its mirror.
     */
    PAGODA_POOL_NAMESPACE: dnsLabel("PAGODA_POOL_NAMESPACE").optional(),
    PAGODA_QUOTA_SITES: positiveInt("PAGODA_QUOTA_SITES").default(50),
    PAGODA_QUOTA_ARCHIVE_BYTES: positiveInt("PAGODA_QUOTA_ARCHIVE_BYTES").default(100 * 1024 * 1024),
    PAGODA_QUOTA_FILES: positiveInt("PAGODA_QUOTA_FILES").default(20_000),
    PAGODA_QUOTA_STORED_BYTES: positiveInt("PAGODA_QUOTA_STORED_BYTES").default(1024 * 1024 * 1024),
    /** How long an artifact no deploy names is kept, and still charged to the tenant that deleted it (docs/uploads.md). */
    PAGODA_ARTIFACT_GC_GRACE_SECONDS: positiveInt("PAGODA_ARTIFACT_GC_GRACE_SECONDS").default(3600),
    PAGODA_ARTIFACT_GC_INTERVAL_SECONDS: positiveInt("PAGODA_ARTIFACT_GC_INTERVAL_SECONDS").default(600),
    PAGODA_SIGNIN_ATTEMPTS_PER_IP: positiveInt("PAGODA_SIGNIN_ATTEMPTS_PER_IP").default(30),
    PAGODA_SIGNIN_ATTEMPTS_PER_EMAIL: positiveInt("PAGODA_SIGNIN_ATTEMPTS_PER_EMAIL").default(10),
    PAGODA_SIGNUPS_PER_IP: positiveInt("PAGODA_SIGNUPS_PER_IP").default(10),
    PAGODA_API_TOKEN_REQUESTS_PER_MINUTE: positiveInt("PAGODA_API_TOKEN_REQUESTS_PER_MINUTE").default(300),
    /**
     * Outgoing mail (docs/accounts.md): smtp:// (STARTTLS when the server offers it) or smtps://, with
     * user:password@ when the server wants them. Unset: the dashboard runs without mail, and password
     * reset and email verification say they are unavailable.
     */
    PAGODA_SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\/[^\s]+$/, { error: "PAGODA_SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.com:587" })
      .refine((value) => URL.canParse(value) && new URL(value).hostname !== "", {
        error: "PAGODA_SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.com:587",
      })
      .optional(),
    /** The From of every message: an address, or `Name <address>`; defaults to no-reply at NEXTAUTH_URL's host. */
    PAGODA_MAIL_FROM: z
      .string()
      .regex(/^(?:[^<>"\p{Cc}]{1,80} <[^\s<>@"\p{Cc}]{1,64}@[^\s<>@"\p{Cc}]{1,190}>|[^\s<>@"\p{Cc}]{1,64}@[^\s<>@"\p{Cc}]{1,190})$/u, {
        error: "PAGODA_MAIL_FROM must be an address (pagoda@example.com) or a name and an address (Pagoda <pagoda@example.com>), on one line",
      })
      .optional(),
    PAGODA_PASSWORD_RESETS_PER_IP: positiveInt("PAGODA_PASSWORD_RESETS_PER_IP").default(10),
    PAGODA_PASSWORD_RESETS_PER_EMAIL: positiveInt("PAGODA_PASSWORD_RESETS_PER_EMAIL").default(3),
    PAGODA_VERIFICATION_EMAILS_PER_USER: positiveInt("PAGODA_VERIFICATION_EMAILS_PER_USER").default(5),
    PAGODA_UPLOADS_PER_TENANT: positiveInt("PAGODA_UPLOADS_PER_TENANT").default(2),
    PAGODA_UPLOADS_PER_PROCESS: positiveInt("PAGODA_UPLOADS_PER_PROCESS").default(8),
    PAGODA_UPLOAD_IDLE_SECONDS: positiveInt("PAGODA_UPLOAD_IDLE_SECONDS").default(30),
    // Node answers a bare 408 at 300 s (server.requestTimeout); ours must come first.
    PAGODA_UPLOAD_DEADLINE_SECONDS: positiveInt("PAGODA_UPLOAD_DEADLINE_SECONDS")
      .max(290, { error: "PAGODA_UPLOAD_DEADLINE_SECONDS must be at most 290: Node's HTTP server drops any request still arriving after 300 s" })
      .default(240),
    PAGODA_UPLOAD_DISK_RESERVE_BYTES: z.coerce
      .number({ error: "PAGODA_UPLOAD_DISK_RESERVE_BYTES must be a whole number of bytes" })
      .int({ error: "PAGODA_UPLOAD_DISK_RESERVE_BYTES must be a whole number of bytes" })
      .min(0, { error: "PAGODA_UPLOAD_DISK_RESERVE_BYTES must be 0 or more" })
      .default(512 * 1024 * 1024),
    /** Deadline of each request to the Kubernetes API server (watches excepted); past it the cluster counts as unavailable. */
    PAGODA_KUBE_REQUEST_TIMEOUT_SECONDS: positiveInt("PAGODA_KUBE_REQUEST_TIMEOUT_SECONDS")
      .max(300, { error: "PAGODA_KUBE_REQUEST_TIMEOUT_SECONDS must be at most 300" })
      .default(10),
    /**
     * Origins a site's `_redirects` may proxy to (200 to another origin), comma-separated; the operator
     * takes the same list. Unset: every proxy rule is refused at upload.
     */
    PAGODA_PROXY_ORIGINS: z
      .string()
      .default("")
      .transform((text, context) => {
        try {
          return parseProxyOrigins(text);
        } catch (e) {
          context.addIssue({ code: "custom", message: `PAGODA_PROXY_ORIGINS: ${e instanceof Error ? e.message : String(e)}` });
          return z.NEVER;
        }
      }),
    /** Lets the dashboard and the sites share a registrable domain; for a single-person local setup only. */
    PAGODA_ALLOW_SAME_SITE_SITES: z
      .enum(["0", "1"], { error: "PAGODA_ALLOW_SAME_SITE_SITES must be 1 (allow) or 0 (refuse, the default)" })
      .default("0")
      .transform((value) => value === "1"),
    /** Custom domains (docs/domains.md): the name a domain's CNAME must point at, and/or the addresses its A/AAAA records may hold. */
    PAGODA_INGRESS_HOSTNAME: z
      .string()
      .regex(BASE_DOMAIN_RE, { error: "PAGODA_INGRESS_HOSTNAME must be a lower-case DNS name such as ingress.example.net" })
      .optional(),
    PAGODA_INGRESS_ADDRESSES: ipList("PAGODA_INGRESS_ADDRESSES", false),
    /** DNS servers domain verification asks, comma-separated `address` or `address:port`; unset: the system's resolver. */
    PAGODA_DNS_RESOLVER: ipList("PAGODA_DNS_RESOLVER", true),
    PAGODA_DOMAINS_ALLOW_WILDCARD: z
      .enum(["0", "1"], { error: "PAGODA_DOMAINS_ALLOW_WILDCARD must be 1 (allow *.example.com) or 0 (refuse, the default)" })
      .default("0")
      .transform((value) => value === "1"),
    /** First retry of a pending domain's check; the delay doubles up to PAGODA_DOMAIN_RECHECK_SECONDS. */
    PAGODA_DOMAIN_RETRY_SECONDS: positiveInt("PAGODA_DOMAIN_RETRY_SECONDS").default(30),
    PAGODA_DOMAIN_RECHECK_SECONDS: positiveInt("PAGODA_DOMAIN_RECHECK_SECONDS").default(3600),
    /** How long a verified domain may miss its records before it is taken off its site. */
    PAGODA_DOMAIN_GRACE_SECONDS: positiveInt("PAGODA_DOMAIN_GRACE_SECONDS").default(72 * 3600),
    /**
     * Single sign-on through one OpenID provider (docs/accounts.md). Issuer, client id and secret come
     * together or not at all; none of them is "no single sign-on".
     */
    PAGODA_OIDC_ISSUER: z
      .url({ protocol: /^https?$/, error: "PAGODA_OIDC_ISSUER must be the OpenID provider's issuer URL, e.g. https://login.example.com" })
      .optional(),
    PAGODA_OIDC_CLIENT_ID: z.string().min(1, { error: "PAGODA_OIDC_CLIENT_ID must not be empty" }).max(255).optional(),
    PAGODA_OIDC_CLIENT_SECRET: z.string().min(1, { error: "PAGODA_OIDC_CLIENT_SECRET must not be empty" }).max(1024).optional(),
    PAGODA_OIDC_NAME: z
      .string()
      .regex(/^[^\p{Cc}]{1,40}$/u, { error: "PAGODA_OIDC_NAME must be 1-40 characters on one line (the sign-in button says “Continue with <name>”)" })
      .default("single sign-on"),
    /** `example.com=acme:member,…`: a new account from single sign-on with an address at the domain joins that workspace. */
    PAGODA_OIDC_DOMAIN_RULES: z
      .string()
      .default("")
      .transform((text, context) => {
        try {
          return parseOidcDomainRules(text);
        } catch (e) {
          context.addIssue({ code: "custom", message: `PAGODA_OIDC_DOMAIN_RULES: ${e instanceof Error ? e.message : String(e)}` });
          return z.NEVER;
        }
      }),
  })
  .superRefine((config, context) => {
    const oidc = ["PAGODA_OIDC_ISSUER", "PAGODA_OIDC_CLIENT_ID", "PAGODA_OIDC_CLIENT_SECRET"] as const;
    const missing = oidc.filter((name) => config[name] === undefined);
    if (missing.length > 0 && missing.length < oidc.length) {
      for (const name of missing) {
        context.addIssue({
          code: "custom",
          path: [name],
          message: `${name} is required when ${oidc.filter((n) => !missing.includes(n)).join(" and ")} is set (single sign-on needs all three)`,
        });
      }
    }
    if (missing.length === oidc.length && (config.PAGODA_OIDC_DOMAIN_RULES?.length ?? 0) > 0) {
      context.addIssue({
        code: "custom",
        path: ["PAGODA_OIDC_DOMAIN_RULES"],
        message: "PAGODA_OIDC_DOMAIN_RULES is set but single sign-on is off: set PAGODA_OIDC_ISSUER, PAGODA_OIDC_CLIENT_ID and PAGODA_OIDC_CLIENT_SECRET too",
      });
    }
    // Runs even when other fields failed; those already have their own message.
    if (config.PAGODA_ALLOW_SAME_SITE_SITES || !URL.canParse(config.NEXTAUTH_URL) || !BASE_DOMAIN_RE.test(config.PAGODA_BASE_DOMAIN)) return;
    const conflict = sameSiteConflict(new URL(config.NEXTAUTH_URL).hostname, config.PAGODA_BASE_DOMAIN);
    if (conflict) context.addIssue({ code: "custom", path: ["PAGODA_BASE_DOMAIN"], message: conflict });
  });

export type Config = z.infer<typeof schema>;

export interface OidcDomainRule {
  /** Lower-case; matches the part of an address after the @ exactly (no sub-domains). */
  domain: string;
  workspace: string;
  role: "owner" | "member" | "viewer";
}

/**
 * `example.com=acme:member,example.org=beta:viewer`. Each domain at most once; the workspace is a
 * slug, checked against the database only at sign-in (it may be created after the dashboard starts).
 */
export function parseOidcDomainRules(text: string): OidcDomainRule[] {
  const rules: OidcDomainRule[] = [];
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const match = /^([^=\s]+)=([^:\s]+):([^\s]+)$/.exec(entry);
    if (!match) throw new Error(`“${entry.slice(0, 80)}” is not domain=workspace:role, e.g. example.com=acme:member`);
    const [, rawDomain, workspace, role] = match as unknown as [string, string, string, string];
    const domain = rawDomain.toLowerCase();
    if (!BASE_DOMAIN_RE.test(domain) || !domain.includes(".")) throw new Error(`“${rawDomain.slice(0, 80)}” is not an email domain such as example.com`);
    if (!/^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$/.test(workspace))
      throw new Error(`“${workspace.slice(0, 80)}” is not a workspace slug (lower-case letters, digits and -, at most 24)`);
    if (role !== "owner" && role !== "member" && role !== "viewer")
      throw new Error(`the role of ${domain} must be owner, member or viewer, not “${role.slice(0, 20)}”`);
    if (rules.some((rule) => rule.domain === domain)) throw new Error(`${domain} has more than one rule`);
    rules.push({ domain, workspace, role });
  }
  return rules;
}

/**
 * Why a dashboard at `dashboardHost` must not serve sites under `baseDomain`,
 * or null when it may. Tenant sites run anyone's JavaScript; a page may set a
 * cookie for any parent domain of its host down to the registrable domain
 * (the label above a Public Suffix List entry), and that cookie is then sent
 * to every host under it. So the dashboard's host must not lie inside the
 * registrable domain of a site host (cookie tossing: a planted session or
 * CSRF cookie), and must not lie under the base domain at all (a site's
 * label could be the dashboard's host). Private PSL entries count, as they
 * do in browsers. A dashboard on an IP address or on a bare public suffix
 * such as `localhost` has no registrable domain: only it can set its cookies.
 */
export function sameSiteConflict(dashboardHost: string, baseDomain: string): string | null {
  const host = dashboardHost.toLowerCase().replace(/\.$/, "");
  const base = baseDomain.toLowerCase();
  const dashboard = parseHost(host, { allowPrivateDomains: true });
  // Any label works as a probe: all site hosts are <label>.<base domain>.
  const siteDomain = parseHost(`site.${base}`, { allowPrivateDomains: true }).domain;
  const fix =
    "Serve sites from a domain of their own (for a dashboard at pagoda.example.com, e.g. PAGODA_BASE_DOMAIN=sites.example.net), " +
    "or, for a local setup only you use, set PAGODA_ALLOW_SAME_SITE_SITES=1.";
  if (host.endsWith(`.${base}`)) {
    return `NEXTAUTH_URL's host ${host} lies under PAGODA_BASE_DOMAIN ${base}, where tenant sites are served: a site could take the dashboard's host or set its cookies. ${fix}`;
  }
  if (!dashboard.isIp && dashboard.domain && dashboard.domain === siteDomain) {
    return `NEXTAUTH_URL's host ${host} and PAGODA_BASE_DOMAIN ${base} share the registrable domain ${siteDomain}, so a tenant's site could set cookies the dashboard reads (cookie tossing). ${fix}`;
  }
  return null;
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((line) => `  - ${line}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const name = issue.path.join(".");
        return issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`;
      }),
    );
  }
  return result.data;
}

let cached: Config | undefined;

export function getConfig(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}
