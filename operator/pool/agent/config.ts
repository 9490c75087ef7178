// The pool agent's configuration, read once from the environment (the names
// the operator's pod template sets, AGENT_ENV) and validated before anything
// starts, so a bad value fails at boot with the variable's name.
import { z } from "zod";
import { originHasIpHost, parseProxyOrigins } from "@/lib/staticsite/rules";
import { AGENT_ENV, AGENT_PORT, MIRROR_PORT } from "../protocol";
import { LISTEN_PORT } from "../../nginx-config";
import type { ProxySettings } from "../../nginx-rules";

const GiB = 1024 ** 3;

export const AGENT_NGINX_ENV = {
  /** The nginx binary the agent runs as its child. */
  nginx: "PAGODA_POOL_NGINX",
  /** The mime.types file the rendered configuration includes. */
  mimeTypes: "PAGODA_POOL_MIME_TYPES",
  /** Address the API and the site port bind to: all interfaces in a pod, loopback in tests. */
  listenHost: "PAGODA_POOL_LISTEN_HOST",
  apiPort: "PAGODA_POOL_API_PORT",
  sitePort: "PAGODA_POOL_SITE_PORT",
  /** nginx's loopback-only port on which the agent learns which configuration the workers run. */
  controlPort: "PAGODA_POOL_CONTROL_PORT",
  /** The agent's loopback-only listener to which nginx hands the first request for a preview host. */
  previewPort: "PAGODA_POOL_PREVIEW_PORT",
  /** Where dedicated sites' pods fetch the tarballs the pool mirrors for them. */
  mirrorPort: "PAGODA_POOL_MIRROR_PORT",
  /** Previews a replica keeps activated (server block and tree) before it deactivates the least recently used. */
  previewsMax: "PAGODA_POOL_PREVIEWS_MAX",
  /** nginx's access and error logs: the container's stdout and stderr unless set. */
  accessLog: "PAGODA_POOL_ACCESS_LOG",
  errorLog: "PAGODA_POOL_ERROR_LOG",
  /** The operator's own proxy allow-list and resolver, under the operator's names: a shared site's proxy rules are held to the same. */
  proxyOrigins: "PAGODA_PROXY_ORIGINS",
  proxyResolver: "PAGODA_PROXY_RESOLVER",
} as const;

const TOKEN_MIN_LENGTH = 32;
/** Enough for every recent deploy of a few busy sites, few enough that the configuration stays small. */
const PREVIEWS_MAX_DEFAULT = 100;

const port = z.coerce.number().int().min(1).max(65_535);
const absolutePath = z.string().regex(/^\/[^\0]*$/, "expected an absolute path");

const envSchema = z.object({
  [AGENT_ENV.token]: z.string({ message: "required" }).min(TOKEN_MIN_LENGTH, `must be at least ${TOKEN_MIN_LENGTH} characters`),
  [AGENT_ENV.storeDir]: absolutePath.default("/var/cache/pagoda-pool"),
  [AGENT_ENV.workDir]: absolutePath.default("/var/lib/pagoda-pool"),
  [AGENT_ENV.storeMaxBytes]: z.coerce
    .number()
    .int()
    .min(0)
    .default(10 * GiB),
  [AGENT_ENV.podName]: z.string().min(1).optional(),
  [AGENT_NGINX_ENV.nginx]: absolutePath.default("/usr/sbin/nginx"),
  [AGENT_NGINX_ENV.mimeTypes]: absolutePath.default("/etc/nginx/mime.types"),
  [AGENT_NGINX_ENV.listenHost]: z.union([z.ipv4(), z.literal("::")]).default("0.0.0.0"),
  [AGENT_NGINX_ENV.apiPort]: port.default(AGENT_PORT),
  [AGENT_NGINX_ENV.sitePort]: port.default(LISTEN_PORT),
  [AGENT_NGINX_ENV.controlPort]: port.default(AGENT_PORT + 1),
  [AGENT_NGINX_ENV.previewPort]: port.default(AGENT_PORT + 2),
  [AGENT_NGINX_ENV.mirrorPort]: port.default(MIRROR_PORT),
  [AGENT_NGINX_ENV.previewsMax]: z.coerce.number().int().min(1).max(10_000).default(PREVIEWS_MAX_DEFAULT),
  [AGENT_NGINX_ENV.accessLog]: absolutePath.default("/dev/stdout"),
  [AGENT_NGINX_ENV.errorLog]: absolutePath.default("/dev/stderr"),
  [AGENT_NGINX_ENV.proxyOrigins]: z
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
  [AGENT_NGINX_ENV.proxyResolver]: z
    .string()
    .regex(/^(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?::[0-9]{1,5})?$/, {
      message: "expected the IPv4 address of a DNS server, with an optional port",
    })
    .optional(),
});

export interface AgentConfig {
  token: string;
  storeDir: string;
  workDir: string;
  storeMaxBytes: number;
  podName?: string;
  nginxBinary: string;
  mimeTypesPath: string;
  host: string;
  apiPort: number;
  sitePort: number;
  controlPort: number;
  previewPort: number;
  mirrorPort: number;
  previewsMax: number;
  accessLog: string;
  errorLog: string;
  /** Where sites' proxy rules may go; absent: a site with a proxy rule is ConfigInvalid. */
  proxy?: ProxySettings;
}

export class AgentConfigError extends Error {
  override readonly name = "AgentConfigError";
  constructor(readonly issues: string[]) {
    super(`invalid pool agent configuration:\n  ${issues.join("\n  ")}`);
  }
}

export function loadAgentConfig(env: Readonly<Record<string, string | undefined>> = process.env): AgentConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new AgentConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  }
  const e = parsed.data;
  const origins = e[AGENT_NGINX_ENV.proxyOrigins] ?? [];
  const resolver = e[AGENT_NGINX_ENV.proxyResolver];
  const named = origins.filter((o) => !originHasIpHost(o));
  if (named.length > 0 && !resolver) {
    throw new AgentConfigError([`${AGENT_NGINX_ENV.proxyResolver}: required when ${AGENT_NGINX_ENV.proxyOrigins} names a host (${named.join(", ")})`]);
  }
  return {
    token: e[AGENT_ENV.token],
    storeDir: e[AGENT_ENV.storeDir],
    workDir: e[AGENT_ENV.workDir],
    storeMaxBytes: e[AGENT_ENV.storeMaxBytes],
    podName: e[AGENT_ENV.podName],
    nginxBinary: e[AGENT_NGINX_ENV.nginx],
    mimeTypesPath: e[AGENT_NGINX_ENV.mimeTypes],
    host: e[AGENT_NGINX_ENV.listenHost],
    apiPort: e[AGENT_NGINX_ENV.apiPort],
    sitePort: e[AGENT_NGINX_ENV.sitePort],
    controlPort: e[AGENT_NGINX_ENV.controlPort],
    previewPort: e[AGENT_NGINX_ENV.previewPort],
    mirrorPort: e[AGENT_NGINX_ENV.mirrorPort],
    previewsMax: e[AGENT_NGINX_ENV.previewsMax],
    accessLog: e[AGENT_NGINX_ENV.accessLog],
    errorLog: e[AGENT_NGINX_ENV.errorLog],
    ...(origins.length > 0 ? { proxy: { origins, ...(resolver ? { resolver } : {}) } } : {}),
  };
}
