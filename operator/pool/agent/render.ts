// The one nginx.conf of a pool pod: the platform's common http settings, a
// default server answering 404 for hosts the pool does not serve, and one
// server per site built by the same renderer as a site's own nginx, so a site
// behaves the same in the pool as in its dedicated pods.
import { createHash } from "node:crypto";
import path from "node:path";
import { PREVIEW_LABEL_RE } from "@/lib/staticsite/site-url";
import { HEALTH_PATH, renderNginxPreamble, renderSiteServer } from "../../nginx-config";
import { DOLLAR_GEO, mapHashSettings, renderRules, type MapHashSizes, type ProxySettings, type RenderedRules, type SiteRules } from "../../nginx-rules";

/** A site as the configuration serves it: the spec it was made from and its parsed rules. */
export interface PoolServerSite {
  key: string;
  digest: string;
  hosts: readonly string[];
  spa: boolean;
  notFoundPage?: string;
  rules?: SiteRules;
  /** Previews of the site activated on this replica: each host serves its digest with the site's settings and rules. */
  previews?: readonly { host: string; digest: string }[];
}

export interface PoolConfigOptions {
  workDir: string;
  /** `listen` argument of the site port, e.g. `8080` or `127.0.0.1:18080`. */
  listen: string;
  controlPort: number;
  /** Answered on the control port, so the agent knows when the workers run this configuration. */
  applyId: string;
  mimeTypesPath: string;
  accessLog: string;
  errorLog: string;
  proxy?: ProxySettings;
  /** The agent's loopback listener for previews: preview hosts without a server of their own go there. */
  previewPort?: number;
}

/** Path on the control port that answers the configuration's applyId. */
export const CONTROL_PATH = "/config";

/** Path on the agent's preview listener that marks a preview as used (nginx mirrors every request of a preview there). */
export const PREVIEW_TOUCH_PATH = "/touch";
/** The location in a preview's server that mirrors to the agent; internal, so a visitor's request for it is 404. */
/** The header (api.ts, PREVIEW_USE_HEADER) by which the mirror tells the agent a request was a preview's. */
const PREVIEW_USE_HEADER_NAME = "X-Pagoda-Preview-Used";
const PREVIEW_TOUCH_LOCATION = "/.pagoda-pool/preview-used";

export function digestHex(digest: string): string {
  return digest.slice("sha256:".length);
}

export function siteTreeDir(workDir: string, digest: string): string {
  return path.join(workDir, "sites", digestHex(digest));
}

/** Where a site's server finds its files: a symbolic link to its digest's tree, so a new digest alone needs no reload. */
export function siteLinkDir(workDir: string, link: string): string {
  return path.join(workDir, "live", link);
}

/**
 * The name of a site's link: the site's key and everything of its server
 * block but the digest. A site whose block changes gets a new link, so the
 * workers of the configuration before keep reading the tree their block was
 * made for until they are gone; one whose digest alone changes keeps its
 * link, which then points at the new tree.
 */
export function siteLink(site: Pick<PoolServerSite, "key" | "hosts" | "spa" | "notFoundPage" | "rules">): string {
  const shape = JSON.stringify([site.hosts, site.spa, site.notFoundPage ?? null, site.rules ?? null]);
  const hash = (text: string, n: number) => createHash("sha256").update(text).digest("hex").slice(0, n);
  return `${hash(site.key, 16)}-${hash(shape, 16)}`;
}

/** Stable per site key, so the variables of a site kept from an earlier apply never meet another site's. */
export function variablePrefix(key: string): string {
  return `pagoda_k${createHash("sha256").update(key).digest("hex").slice(0, 12)}_`;
}

/** The site's rules compiled for a shared http block; throws what renderRules throws. */
export function renderPoolRules(site: Pick<PoolServerSite, "key" | "spa" | "rules">, proxy?: ProxySettings): RenderedRules | undefined {
  if (!site.rules) return undefined;
  return renderRules(site.rules, { spa: site.spa, reservedPaths: [HEALTH_PATH], proxy, variablePrefix: variablePrefix(site.key), sharedDollar: true });
}

/** Room in a hash for `keys` of up to `longest` bytes, with the margin nginx needs to build it without collisions. */
function hashRoom(longest: number, keys: number): MapHashSizes {
  let bucketSize = 64;
  while (bucketSize < (longest + 16) * 4) bucketSize *= 2;
  let maxSize = 2048;
  while (maxSize < keys * 4) maxSize *= 2;
  return { bucketSize, maxSize };
}

/** Comment lines that open a site's parts of the file, and the pool's own: they tell whose text a line nginx refuses is. */
const SITE_MARKER_RE = /^ {2}# site ("(?:[^"\\]|\\.)*")/;
const POOL_MARKER = "  # pool:";

function siteMarker(key: string): string {
  return `  # site ${JSON.stringify(key)}`;
}

/** The key of the site whose part of `config` holds 1-based `line`; undefined for the pool's own parts. */
export function siteAtLine(config: string, line: number): string | undefined {
  let key: string | undefined;
  const lines = config.split("\n");
  for (let i = 0; i < Math.min(line, lines.length); i++) {
    const text = lines[i] ?? "";
    const m = SITE_MARKER_RE.exec(text);
    if (m?.[1]) key = JSON.parse(m[1]) as string;
    else if (text.startsWith(POOL_MARKER)) key = undefined;
  }
  return key;
}

const SERVER_ANCHOR = "    absolute_redirect off;\n";

/**
 * A preview's server: the site's own server at the preview's tree, and on
 * every answer (error pages too) a header that keeps search engines away;
 * each request is mirrored to the agent, which keeps the previews most
 * recently used.
 */
export function renderPreviewServer(
  site: PoolServerSite,
  preview: { host: string; digest: string },
  opts: PoolConfigOptions,
  rules: RenderedRules | undefined,
): string {
  if (opts.previewPort === undefined) throw new Error("previews need the agent's preview port");
  const server = renderSiteServer({
    spa: site.spa,
    notFoundPage: site.notFoundPage,
    listen: opts.listen,
    serverName: preview.host,
    root: siteTreeDir(opts.workDir, preview.digest),
    rules,
  });
  if (!server.includes(SERVER_ANCHOR)) throw new Error("the site server has no place for the preview's directives");
  return server.replace(
    SERVER_ANCHOR,
    `${SERVER_ANCHOR}
    add_header X-Robots-Tag "noindex" always;
    mirror ${PREVIEW_TOUCH_LOCATION};
    mirror_request_body off;

    location = ${PREVIEW_TOUCH_LOCATION} {
      internal;
      access_log off;
      proxy_pass http://127.0.0.1:${opts.previewPort}${PREVIEW_TOUCH_PATH};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host $host;
      proxy_set_header ${PREVIEW_USE_HEADER_NAME} "1";
    }
`,
  );
}

/** Hosts shaped like a preview's that no server names: the agent activates the preview, or answers 404 as for any unknown host. */
function renderPreviewCatcher(opts: PoolConfigOptions): string {
  if (opts.previewPort === undefined) return "";
  return `${POOL_MARKER} preview hosts not activated here; the agent activates one of the map's, or says 404.
  server {
    listen ${opts.listen};
    server_name "~${PREVIEW_LABEL_RE.source}";

    location / {
      proxy_pass http://127.0.0.1:${opts.previewPort};
      proxy_set_header Host $http_host;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      # Only the mirror of an activated preview's request may say it is one.
      proxy_set_header ${PREVIEW_USE_HEADER_NAME} "";
      # An activation may fetch the artifact first.
      proxy_read_timeout 300s;
      proxy_intercept_errors on;
      error_page 404 = @unknown;
    }

    location @unknown {
      return 404;
    }
  }

`;
}

export function renderPoolConfig(sites: readonly PoolServerSite[], opts: PoolConfigOptions): string {
  if (!/^[A-Za-z0-9._-]+$/.test(opts.applyId)) throw new Error(`apply id ${JSON.stringify(opts.applyId)} is not a plain token`);
  const rendered = sites.map((site) => ({ site, rules: renderPoolRules(site, opts.proxy) }));
  const hosts = sites.flatMap((s) => [...s.hosts, ...(s.previews ?? []).map((p) => p.host)]);
  const names = hashRoom(
    hosts.reduce((n, h) => Math.max(n, h.length), 0),
    hosts.length,
  );
  // One map hash size for every site's maps: nginx fixes it at the first map.
  const maps = rendered.reduce<MapHashSizes>(
    (acc, r) => (r.rules ? { bucketSize: Math.max(acc.bucketSize, r.rules.mapHash.bucketSize), maxSize: Math.max(acc.maxSize, r.rules.mapHash.maxSize) } : acc),
    { bucketSize: 64, maxSize: 2048 },
  );
  const httpSettings = mapHashSettings(maps) + `  server_names_hash_bucket_size ${names.bucketSize};\n  server_names_hash_max_size ${names.maxSize};\n`;
  const anyRules = rendered.some((r) => r.rules);
  const httpBlocks = rendered.map((r) => (r.rules ? `${siteMarker(r.site.key)} rules\n${r.rules.httpBlock}\n` : "")).join("");
  const servers = rendered
    .filter((r) => r.site.hosts.length > 0)
    .map(
      (r) =>
        `${siteMarker(r.site.key)}\n` +
        renderSiteServer({
          spa: r.site.spa,
          notFoundPage: r.site.notFoundPage,
          listen: opts.listen,
          serverName: r.site.hosts.join(" "),
          // Not the tree itself: the text stays the same when only the digest moves (siteLink).
          root: siteLinkDir(opts.workDir, siteLink(r.site)),
          rules: r.rules,
        }),
    )
    .join("\n");
  const previews = rendered
    .filter((r) => (r.site.previews ?? []).length > 0)
    .map((r) => `${siteMarker(r.site.key)} previews\n` + (r.site.previews ?? []).map((p) => renderPreviewServer(r.site, p, opts, r.rules)).join("\n"))
    .join("\n");
  return `${renderNginxPreamble(
    {
      tempDir: path.join(opts.workDir, "tmp"),
      mimeTypesPath: opts.mimeTypesPath,
      errorLog: opts.errorLog,
      accessLog: opts.accessLog,
      httpSettings,
      // A site's link moves to its new tree without a reload (siteLink).
      fileCacheValidSeconds: 0,
    },
    "# Rendered by the Pagoda pool agent; changes are overwritten.",
  )}${anyRules ? DOLLAR_GEO : ""}${httpBlocks}${POOL_MARKER} hosts the pool does not serve.
  server {
    listen ${opts.listen} default_server;
    server_name _;

    location = ${HEALTH_PATH} {
      access_log off;
      default_type text/plain;
      return 200 "ok\\n";
    }

    location / {
      return 404;
    }
  }

${POOL_MARKER} the agent's view of which configuration the workers run; loopback only.
  server {
    listen 127.0.0.1:${opts.controlPort};
    access_log off;

    location = ${CONTROL_PATH} {
      default_type text/plain;
      return 200 "${opts.applyId}";
    }

    location / {
      return 404;
    }
  }

${renderPreviewCatcher(opts)}${servers}${previews ? `\n${previews}` : ""}}
`;
}
