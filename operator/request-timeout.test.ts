// A hung API server, as a real socket: an HTTP server that takes requests and
// never answers them. Every request of the operator must give up after its
// deadline with an error that says so, and the work queue must retry the
// reconcile; the watch, which is meant to stay open, must not be cut.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig, type KubernetesObject, type V1Pod } from "@kubernetes/client-node";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Reconciler, type Caches, type ObjectCache } from "./reconcile";
import { KubeApiError } from "../lib/kube/request";
import { KubeApi } from "./kube-api";
import { createMetrics } from "./metrics";
import { childConfig, makeSite } from "./test-fixtures";
import { Informer } from "../lib/kube/informer";
import { keyOf, keyString, type ObjectKey } from "../lib/kube/object-key";
import { WorkQueue } from "../lib/kube/workqueue";

const TIMEOUT_MS = 300;
const log = pino({ level: "silent" });

interface Seen {
  method: string;
  url: string;
  /** Set when the client closed the connection before getting an answer. */
  abandoned: boolean;
}

/**
 * Answers the Pod list and opens the Pod watch (headers sent, then silence,
 * as a quiet watch is); every other request is taken and never answered.
 */
async function hungApiServer() {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const entry: Seen = { method: req.method ?? "", url: req.url ?? "", abandoned: false };
    seen.push(entry);
    const url = new URL(entry.url, "http://x");
    if (url.pathname === "/api/v1/pods" && url.searchParams.get("watch") === "true") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      return;
    }
    if (url.pathname === "/api/v1/pods") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "7" }, items: [] }));
      return;
    }
    res.on("close", () => {
      if (!res.writableEnded) entry.abandoned = true;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "hung", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }, { name: "nobody" });
  return {
    kc,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

class MapCache<T extends KubernetesObject> implements ObjectCache<T> {
  constructor(private readonly items: T[] = []) {}
  get(key: ObjectKey): T | undefined {
    return this.items.find((o) => o.metadata?.name === key.name && o.metadata?.namespace === key.namespace);
  }
  list(namespace?: string): readonly T[] {
    return this.items.filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }
}

describe("API request timeout", () => {
  let api: Awaited<ReturnType<typeof hungApiServer>>;

  beforeEach(async () => {
    api = await hungApiServer();
  });
  afterEach(async () => {
    await api.close();
  });

  it("gives up on a request the API server never answers, says so, counts it, and closes the connection", async () => {
    const metrics = createMetrics();
    const kube = new KubeApi(api.kc, metrics, { requestTimeoutMs: TIMEOUT_MS });
    const started = performance.now();
    const err: unknown = await kube.applyStatus(makeSite(), { observedGeneration: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const took = performance.now() - started;
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).timedOut).toBe(true);
    expect((err as Error).message).toBe("writing status of StaticSite acme/blog: request timed out: no answer from the API server within 0.3 s");
    expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
    expect(took).toBeLessThan(TIMEOUT_MS + 2_000);
    // The operator's metrics saw it end without an answer.
    const durations = (await metrics.apiRequestDuration.get()).values.filter((v) => v.metricName?.endsWith("_count"));
    expect(durations.map((v) => [v.labels, v.value])).toEqual([[{ verb: "apply-status", kind: "StaticSite", code: "timeout" }, 1]]);
    // The request reached the server, and the client hung up instead of leaving the socket open.
    await expect
      .poll(() => api.seen.map((s) => `${s.method} ${s.url.split("?")[0]} ${s.abandoned}`))
      .toEqual(["PATCH /apis/pagoda.dev/v1alpha1/namespaces/acme/staticsites/blog/status true"]);
  });

  it("fails the reconcile with a timeout and retries it", { timeout: 30_000 }, async () => {
    const metrics = createMetrics();
    const kube = new KubeApi(api.kc, metrics, { requestTimeoutMs: TIMEOUT_MS });
    const site = makeSite();
    const empty = () => new MapCache();
    const caches: Caches = {
      sites: new MapCache([site]),
      deployments: empty(),
      configMaps: empty(),
      services: empty(),
      ingresses: empty(),
      pdbs: empty(),
      pods: empty(),
    } as Caches;
    const reconciler = new Reconciler({ api: kube, caches, config: childConfig, log, identity: "test" });
    const failures: { message: string; retryInMs: number; n: number }[] = [];
    const queue = new WorkQueue({
      handler: (key) => reconciler.reconcile(key),
      concurrency: 1,
      backoffBaseMs: 50,
      backoffMaxMs: 100,
      onError: (_key, err, retryInMs, n) => failures.push({ message: (err as Error).message, retryInMs, n }),
    });
    queue.start();
    queue.add(keyString(keyOf(site)));
    try {
      await expect.poll(() => failures.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    } finally {
      await queue.stop();
    }
    expect(failures.slice(0, 2).map((f) => f.n)).toEqual([1, 2]);
    for (const f of failures) {
      expect(f.message).toMatch(/request timed out: no answer from the API server within 0\.3 s/);
      expect(f.retryInMs).toBeGreaterThan(0);
    }
    // Each attempt really went out and was abandoned at its deadline.
    const attempts = api.seen.filter((s) => s.abandoned);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
  });

  it("leaves the watch open past the request timeout", { timeout: 15_000 }, async () => {
    const metrics = createMetrics();
    const kube = new KubeApi(api.kc, metrics, { requestTimeoutMs: TIMEOUT_MS });
    let retries = 0;
    const pods = new Informer<V1Pod>({
      kind: "Pod",
      path: "/api/v1/pods",
      // Not through the API: the operator's lists go through the object client,
      // which first asks for discovery, and this server answers nothing else.
      list: async () => ({ resourceVersion: "7", items: [] }),
      kc: kube.kc,
      log,
      onChange: () => undefined,
      onRetry: () => void retries++,
    });
    try {
      pods.start();
      await pods.whenSynced();
      await expect.poll(() => api.seen.some((s) => s.url.includes("watch=true"))).toBe(true);
      // Absence over time is the claim: well past several deadlines, the
      // watch is still the one connection it opened, and nothing failed.
      await new Promise((r) => setTimeout(r, 5 * TIMEOUT_MS));
      expect(pods.state).toMatchObject({ lastError: undefined, failures: 0, connected: true });
      expect(retries).toBe(0);
      expect(api.seen.filter((s) => s.url.includes("watch=true"))).toHaveLength(1);
    } finally {
      await pods.stop();
    }
  });
});
