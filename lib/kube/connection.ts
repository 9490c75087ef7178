// Where a process finds its cluster (loadKubeConfig, with the policy as a
// parameter), and one connection pool per KubeConfig (the operator and the
// dashboard each hold one).
//
// @kubernetes/client-node 2.x builds a new undici Agent for every request
// (KubeConfig.applySecurityAuthentication → createDispatcher), so every API
// call and every watch opens its own TLS connection, which then idles until
// the keep-alive timeout. Under load that costs a TLS handshake per request
// on both ends (about 100 ms per request instead of about 20 ms on a busy
// two-core machine) and leaves hundreds of sockets and their buffers in the
// heap. Here the dispatcher is made once per kubeconfig identity and reused;
// it is rebuilt only when the TLS material read from the kubeconfig changes
// (rotated certificates), and the old one is closed gracefully.
import { KeyObject } from "node:crypto";
import { existsSync } from "node:fs";
import type { AgentOptions } from "node:https";
import os from "node:os";
import path from "node:path";
import { KubeConfig, type Cluster } from "@kubernetes/client-node";

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Where a process may look for its cluster, in this order: the file, the default file, the pod's service account. */
export interface KubeConfigPolicy {
  /** A kubeconfig file to use (usually KUBECONFIG); exactly one path. Blank: none given. */
  file?: string | undefined;
  /** Else `~/.kube/config` when it exists. Off for the dashboard: a developer's default context may point at a real cluster. */
  defaultFile: boolean;
  /** Else the pod's service account when KUBERNETES_SERVICE_HOST and _PORT are set. */
  inCluster: boolean;
  /** Where KUBERNETES_SERVICE_HOST/_PORT are read; process.env when omitted. */
  env?: Record<string, string | undefined>;
  /** Prefix of the service-account paths; tests point it at a fake root. */
  inClusterRoot?: string;
  /** Home directory for the default file; the user's when omitted. */
  home?: string;
}

export type KubeConfigSource = "file" | "default-file" | "in-cluster";

export type LoadedKubeConfig =
  | {
      ok: true;
      kc: KubeConfig;
      source: KubeConfigSource;
      /** Where it came from, for logs: the file or "in-cluster service account". */
      from: string;
      /** API server URL. */
      server: string;
    }
  | {
      ok: false;
      /** Why there is no cluster, in words for whoever runs the process. */
      reason: string;
      /** True when something was configured but is unusable (as opposed to nothing being there). */
      misconfigured: boolean;
    };

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function checked(kc: KubeConfig, source: KubeConfigSource, from: string): LoadedKubeConfig {
  const server = kc.getCurrentCluster()?.server;
  if (!server) return { ok: false, misconfigured: true, reason: `${from}: the current context names no cluster with a server URL` };
  return { ok: true, kc, source, from, server };
}

function fromFile(file: string, source: KubeConfigSource, label: string): LoadedKubeConfig {
  if (file.includes(path.delimiter)) return { ok: false, misconfigured: true, reason: `${label} lists several files (${file}); exactly one is needed` };
  if (!existsSync(file)) return { ok: false, misconfigured: true, reason: `${label} names ${file}, which does not exist` };
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (err) {
    return { ok: false, misconfigured: true, reason: `${label} ${file} cannot be read: ${message(err)}` };
  }
  return checked(kc, source, `${label} ${file}`);
}

function inCluster(host: string, port: string, root: string): LoadedKubeConfig {
  const tokenFile = `${root}${SERVICE_ACCOUNT_DIR}/token`;
  if (!existsSync(tokenFile)) {
    return {
      ok: false,
      misconfigured: true,
      reason: `running in a cluster (KUBERNETES_SERVICE_HOST is set) but there is no service account token at ${tokenFile}; is automountServiceAccountToken off?`,
    };
  }
  const kc = new KubeConfig();
  // loadFromCluster reads the host and port from process.env; build the same
  // config from the environment we were given, so that tests can pass one.
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  try {
    process.env.KUBERNETES_SERVICE_HOST = host;
    process.env.KUBERNETES_SERVICE_PORT = port;
    kc.loadFromCluster(root);
  } catch (err) {
    return { ok: false, misconfigured: true, reason: `in-cluster configuration failed: ${message(err)}` };
  } finally {
    restoreEnv("KUBERNETES_SERVICE_HOST", saved.host);
    restoreEnv("KUBERNETES_SERVICE_PORT", saved.port);
  }
  return checked(kc, "in-cluster", "in-cluster service account");
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/**
 * Finds the cluster the policy allows; never throws. Unlike
 * KubeConfig.loadFromDefault it never falls back to http://localhost:8080,
 * and it never merges several files: what it loaded is what it says.
 */
export function loadKubeConfig(policy: KubeConfigPolicy): LoadedKubeConfig {
  const file = policy.file?.trim();
  if (file) return fromFile(file, "file", "KUBECONFIG");
  if (policy.defaultFile) {
    const home = policy.home ?? os.homedir();
    const defaultFile = home ? path.join(home, ".kube", "config") : "";
    if (defaultFile && existsSync(defaultFile)) return fromFile(defaultFile, "default-file", "the default kubeconfig");
  }
  const env = policy.env ?? process.env;
  if (policy.inCluster && env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) {
    return inCluster(env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT, policy.inClusterRoot ?? "");
  }
  const places = ["KUBECONFIG", policy.defaultFile ? "~/.kube/config" : "", policy.inCluster ? "an in-cluster service account" : ""].filter(Boolean);
  return { ok: false, misconfigured: false, reason: `no cluster configured: none of ${places.join(", ")} is available` };
}

interface Dispatcher {
  close(): Promise<void>;
}

/** The private factory this module wraps; checked at run time in pooledKubeConfig. */
interface DispatcherFactory {
  createDispatcher(cluster: Cluster | null, agentOptions: AgentOptions): Dispatcher | undefined;
}

export interface PooledKubeConfig {
  kc: KubeConfig;
  /** Closes the pool; requests already sent finish first. */
  close(): Promise<void>;
}

/** What decides the dispatcher: the server, the proxy and the TLS material, as read for this request. */
interface PoolKey {
  server: string | undefined;
  proxyUrl: string | undefined;
  servername: string | undefined;
  rejectUnauthorized: boolean | undefined;
  passphrase: string | undefined;
  tls: unknown[];
}

function poolKey(cluster: Cluster | null, options: AgentOptions): PoolKey {
  return {
    server: cluster?.server,
    proxyUrl: cluster?.proxyUrl,
    servername: options.servername,
    rejectUnauthorized: options.rejectUnauthorized,
    passphrase: options.passphrase,
    tls: [options.ca, options.cert, options.key, options.pfx],
  };
}

function samePart(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (a instanceof KeyObject && b instanceof KeyObject) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => samePart(item, b[i]));
  // Key or PFX objects ({ buf, passphrase }): rare; compared by their fields.
  if (a && b && typeof a === "object" && typeof b === "object") {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    const keys = Object.keys(x);
    return keys.length === Object.keys(y).length && keys.every((k) => samePart(x[k], y[k]));
  }
  return false;
}

// Compared on every request, since the client reads the TLS material afresh
// each time (a rotated certificate file must take effect): comparing the
// bytes costs a fraction of hashing them.
function samePool(a: PoolKey, b: PoolKey): boolean {
  return (
    a.server === b.server &&
    a.proxyUrl === b.proxyUrl &&
    a.servername === b.servername &&
    a.rejectUnauthorized === b.rejectUnauthorized &&
    a.passphrase === b.passphrase &&
    a.tls.every((part, i) => samePart(part, b.tls[i]))
  );
}

/**
 * A copy of `source` whose requests share one connection pool. A copy, so
 * that closing it never affects another user of `source` (tests start
 * several operators from one kubeconfig). Custom authenticators added with
 * addAuthenticator() are not copied; neither the operator nor the dashboard uses any.
 */
export function pooledKubeConfig(source: KubeConfig): PooledKubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: source.clusters,
    contexts: source.contexts,
    users: source.users,
    currentContext: source.currentContext,
  });
  const factory = kc as unknown as DispatcherFactory;
  if (typeof factory.createDispatcher !== "function") {
    throw new Error("@kubernetes/client-node no longer has KubeConfig.createDispatcher; lib/kube/connection.ts needs updating");
  }
  const create = factory.createDispatcher.bind(kc);
  let current: { key: PoolKey; dispatcher: Dispatcher | undefined } | undefined;
  let closed = false;
  factory.createDispatcher = (cluster, agentOptions) => {
    const key = poolKey(cluster, agentOptions);
    if (current && samePool(current.key, key)) return current.dispatcher;
    const previous = current?.dispatcher;
    current = { key, dispatcher: create(cluster, agentOptions) };
    // Graceful: watches and requests still running on it finish first.
    void previous?.close().catch(() => undefined);
    return current.dispatcher;
  };
  return {
    kc,
    close: async () => {
      if (closed) return;
      closed = true;
      await current?.dispatcher?.close().catch(() => undefined);
    },
  };
}
