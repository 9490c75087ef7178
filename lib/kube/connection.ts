// One connection pool per KubeConfig (the operator and the dashboard each hold one).
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
import { createHash } from "node:crypto";
import type { AgentOptions } from "node:https";
import { KubeConfig, type Cluster } from "@kubernetes/client-node";

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

function fingerprint(cluster: Cluster | null, options: AgentOptions): string {
  const hash = createHash("sha256");
  for (const part of [cluster?.server, cluster?.proxyUrl, options.servername, String(options.rejectUnauthorized), options.passphrase]) {
    hash.update(`${part ?? ""}\0`);
  }
  for (const part of [options.ca, options.cert, options.key, options.pfx]) {
    for (const item of [part ?? ""].flat()) hash.update(typeof item === "string" || Buffer.isBuffer(item) ? item : JSON.stringify(item)).update("\0");
  }
  return hash.digest("hex");
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
  let current: { key: string; dispatcher: Dispatcher | undefined } | undefined;
  let closed = false;
  factory.createDispatcher = (cluster, agentOptions) => {
    const key = fingerprint(cluster, agentOptions);
    if (current?.key === key) return current.dispatcher;
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
