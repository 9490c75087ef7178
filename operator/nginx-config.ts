// Renders the nginx.conf every site pod runs. The whole file (not a server
// snippet) is rendered so that nginx can run as non-root on a read-only root
// filesystem: pid, temp paths and logs all point at writable or stream paths.
import { createHash } from "node:crypto";
import { NOT_FOUND_PAGE_RE } from "@/lib/staticsite/types";
import { renderRules, type ProxySettings, type RenderedRules, type SiteRules } from "./nginx-rules";

export const SITE_ROOT = "/usr/share/pagoda/site";
export const CONFIG_DIR = "/etc/pagoda";
export const CONFIG_FILE = "nginx.conf";
export const LISTEN_PORT = 8080;
export const HEALTH_PATH = "/healthz";

export const CACHE_IMMUTABLE = "public, max-age=31536000, immutable";
export const CACHE_HTML = "no-cache";
export const CACHE_OTHER = "public, max-age=300";

/** The rules files stay in the artifact (the rules are derived from it) but are never served, as on Netlify and Cloudflare Pages. */
export const HIDDEN_RULES_FILES = ["/_redirects", "/_headers"] as const;

export interface NginxConfigOptions {
  spa: boolean;
  notFoundPage?: string;
  /** nginx `listen` argument. */
  listen?: string;
  root?: string;
  /** Writable directory for pid and temp files (an emptyDir in the pod). */
  tempDir?: string;
  mimeTypesPath?: string;
  errorLog?: string;
  accessLog?: string;
  workerProcesses?: number;
  /** The site's parsed `_redirects` and `_headers`; when given (even empty), both files answer 404. */
  rules?: SiteRules;
  /** Where the rules may proxy to (the operator's PAGODA_PROXY_ORIGINS and PAGODA_PROXY_RESOLVER). */
  proxy?: ProxySettings;
}

/**
 * Names with a hex hash segment, e.g. `app.3f2a9c1b.js`, `main-0123abcd4567.css`,
 * `chunk.deadbeef.js.map`: their content never changes under the same name.
 */
export const FINGERPRINT_REGEX = "[.-][0-9a-f]{8,}(\\.[A-Za-z0-9]+)+$";

/** What the top of every nginx.conf Pagoda renders sets: the process, and the http settings all servers share. */
export interface NginxCommonOptions {
  /** Writable directory for pid and temp files (an emptyDir in the pod). */
  tempDir?: string;
  mimeTypesPath?: string;
  errorLog?: string;
  accessLog?: string;
  workerProcesses?: number;
  /** Lines inside `http { }` before any `map` (the rules' hash sizes). */
  httpSettings?: string;
  /**
   * Seconds nginx may trust a file it looked up without looking again:
   * long where the tree never changes under nginx (a dedicated pod's), 0
   * where a link may point at another tree at any moment (the pool's).
   */
  fileCacheValidSeconds?: number;
}

/** The JSON access log every Pagoda nginx writes, as lines inside `http {`; bench:serving adds it to stock nginx to price it. */
export function accessLogDirectives(destination: string): string {
  return `  log_format pagoda_json escape=json '{"time":"$time_iso8601","status":$status,"method":"$request_method",'
    '"uri":"$request_uri","bytes":$body_bytes_sent,"duration":$request_time,'
    '"referer":"$http_referer","user_agent":"$http_user_agent","forwarded_for":"$http_x_forwarded_for"}';
  # Buffered: a write per request to the container runtime's pipe cost more than half of a pod's requests per second.
  access_log ${destination} pagoda_json buffer=64k flush=1s;
`;
}

/** From the top of the file to the platform's Cache-Control map, inside an open `http {`. */
export function renderNginxPreamble(opts: NginxCommonOptions, header = "# Rendered by the Pagoda operator; changes are overwritten."): string {
  const tmp = opts.tempDir ?? "/tmp";
  return `${header}
worker_processes ${opts.workerProcesses ?? 1};
pid ${tmp}/nginx.pid;
error_log ${opts.errorLog ?? "/dev/stderr"} warn;

events {
  worker_connections 1024;
}

http {
  include ${opts.mimeTypesPath ?? "/etc/nginx/mime.types"};
  default_type application/octet-stream;
${opts.httpSettings ?? ""}
  client_body_temp_path ${tmp}/client_temp;
  proxy_temp_path ${tmp}/proxy_temp;
  fastcgi_temp_path ${tmp}/fastcgi_temp;
  uwsgi_temp_path ${tmp}/uwsgi_temp;
  scgi_temp_path ${tmp}/scgi_temp;

${accessLogDirectives(opts.accessLog ?? "/dev/stdout")}
  sendfile on;
  # No tcp_nopush: corking sendfile's frames cost a 100 KiB asset about a third of its requests per second
  # in bench:serving, for some 8% on a small page.
  server_tokens off;
  # Short, so that ingress connections pooled to a pod being replaced end soon.
  keepalive_timeout 5;
  client_max_body_size 1k;

  # Open files and failed lookups (a missing .gz sibling) kept per worker. At
  # 0 s each request still looks the name up once (a stat instead of an open,
  # a stat and a close) and reopens it when the inode moved, so a switched
  # link is seen at once; anything longer would serve the old tree meanwhile.
  open_file_cache max=2048 inactive=20s;
  open_file_cache_valid ${opts.fileCacheValidSeconds ?? 60}s;
  open_file_cache_errors on;

  gzip_static on;
  gzip on;
  gzip_vary on;
  gzip_min_length 1024;
  gzip_types text/plain text/css text/xml application/javascript application/json application/xml image/svg+xml application/wasm;

  # What try_files tests first: a directory's index.html for a path ending
  # in a slash (the path itself can only be a directory, never the file
  # try_files wants), otherwise the path. Through $uri/ and the index module
  # a small page took two more lookups and an internal redirect back through
  # try_files, a fifth of its requests per second in bench:serving. Only for
  # a path ending in a slash, so /blog never finds a file named blogindex.html.
  # Volatile: an error_page or a fallback moves the request to another path,
  # which a value kept from the first pass would never find.
  map $uri $pagoda_file {
    volatile;
    "~/$" "\${uri}index.html";
    default $uri;
  }

  # Evaluated when headers are sent, i.e. after try_files and error_page
  # rewrote $uri, so fallbacks get the header of the page actually served.
  map $uri $pagoda_cache_control {
    # Quoted: braces in a bare regex would open an nginx block.
    "~*${FINGERPRINT_REGEX}" "${CACHE_IMMUTABLE}";
    "~*(\\.html?|/)$" "${CACHE_HTML}";
    default "${CACHE_OTHER}";
  }

`;
}

/** One site's serving behaviour, wherever its server block runs: its own nginx or a shared one. */
export interface SiteServerOptions {
  spa: boolean;
  notFoundPage?: string;
  /** The whole argument of `listen`. */
  listen: string;
  /** The whole argument of `server_name`. */
  serverName: string;
  root: string;
  /** The site's rules rendered by renderRules (with its variable prefix when servers share an http block). */
  rules?: RenderedRules;
}

/** Throws for a notFoundPage nginx must never see, or for spa with one. */
export function checkSiteServing(spa: boolean, notFound: string | undefined): void {
  if (notFound !== undefined && (!NOT_FOUND_PAGE_RE.test(notFound) || notFound.includes(".."))) {
    // The API server validates this too; re-checking here keeps a bad value
    // from ever reaching a config file even if the CRD schema is bypassed.
    throw new Error(`notFoundPage ${JSON.stringify(notFound)} is not a safe absolute path`);
  }
  if (spa && notFound !== undefined) {
    throw new Error("spa and notFoundPage cannot be combined");
  }
}

/** The `server { }` of one site, indented for the inside of `http { }`, ending with a newline. */
export function renderSiteServer(opts: SiteServerOptions): string {
  const notFound = opts.notFoundPage;
  checkSiteServing(opts.spa, notFound);
  const rules = opts.rules;
  const fallback = rules ? rules.tryFilesFallback : opts.spa ? "/index.html" : "=404";
  const cacheControl = rules ? rules.cacheControlVariable : "$pagoda_cache_control";
  const hidden = rules ? HIDDEN_RULES_FILES.map((file) => `\n    location = ${file} {\n      return 404;\n    }\n`).join("") : "";
  return `  server {
    listen ${opts.listen};
    server_name ${opts.serverName};
    root ${opts.root};
    index index.html;

    # Behind an Ingress the pod's port and scheme are not the visitor's.
    absolute_redirect off;
${rules ? `\n${rules.serverBlock}` : ""}
    add_header Cache-Control ${cacheControl} always;
    add_header X-Content-Type-Options "nosniff" always;
    add_header Referrer-Policy "strict-origin-when-cross-origin" always;
    add_header X-Frame-Options "SAMEORIGIN" always;
    add_header Content-Security-Policy "frame-ancestors 'self'" always;

    location = ${HEALTH_PATH} {
      access_log off;
      default_type text/plain;
      return 200 "ok\\n";
    }
${hidden}
    location / {
      try_files $pagoda_file $uri/ ${fallback};
    }
${notFound !== undefined ? `\n    error_page 404 ${notFound};\n` : ""}  }
`;
}

export function renderNginxConfig(opts: NginxConfigOptions): string {
  checkSiteServing(opts.spa, opts.notFoundPage);
  // Rules plug in at five points (docs/site-rules.md, "How nginx serves them"); without rules the text is what it always was.
  const rules = opts.rules ? renderRules(opts.rules, { spa: opts.spa, reservedPaths: [HEALTH_PATH], proxy: opts.proxy }) : undefined;
  const server = renderSiteServer({
    spa: opts.spa,
    notFoundPage: opts.notFoundPage,
    listen: `${opts.listen ?? String(LISTEN_PORT)} default_server`,
    serverName: "_",
    root: opts.root ?? SITE_ROOT,
    rules,
  });
  return `${renderNginxPreamble({ ...opts, httpSettings: rules?.httpSettings })}${rules ? `${rules.httpBlock}\n` : ""}${server}}
`;
}

export function configHash(config: string): string {
  return createHash("sha256").update(config).digest("hex").slice(0, 16);
}
