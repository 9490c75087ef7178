// Prometheus metrics of one operator instance. Each instance has its own
// registry so several can run in one process (tests, the benchmark).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<"result">;
  reconcileErrors: Counter<"reason">;
  reconcileDuration: Histogram<"result">;
  queueDepth: Gauge;
  queueActive: Gauge;
  apiRequests: Counter<"verb" | "kind">;
  apiWrites: Counter<"verb" | "kind">;
  apiRequestDuration: Histogram<"verb" | "kind" | "code">;
  watchRestarts: Counter<"kind">;
  watchEvents: Counter<"kind">;
  watchEchoes: Counter<"kind">;
  isLeader: Gauge;
  managedSites: Gauge;
  poolPushes: Counter;
  poolPushFailures: Counter;
  poolReplicasKnown: Gauge;
  poolReplicasReady: Gauge;
  poolStateLag: Histogram;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): OperatorMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "pagoda_operator_" });
  const registers = [registry];
  return {
    registry,
    reconciles: new Counter({
      name: "pagoda_operator_reconciles_total",
      help: "Reconciles of StaticSites by result (success, error).",
      labelNames: ["result"],
      registers,
    }),
    reconcileErrors: new Counter({
      name: "pagoda_operator_reconcile_errors_total",
      help: "Failed reconciles by the kind of failure.",
      labelNames: ["reason"],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: "pagoda_operator_reconcile_duration_seconds",
      help: "Time spent in one reconcile.",
      labelNames: ["result"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    queueDepth: new Gauge({ name: "pagoda_operator_queue_depth", help: "Keys waiting in the work queue.", registers }),
    queueActive: new Gauge({ name: "pagoda_operator_queue_active", help: "Keys being reconciled right now.", registers }),
    apiRequests: new Counter({
      name: "pagoda_operator_api_requests_total",
      help: "Requests to the Kubernetes API (excluding watches) by verb and kind.",
      labelNames: ["verb", "kind"],
      registers,
    }),
    apiWrites: new Counter({
      name: "pagoda_operator_api_writes_total",
      help: "Writing requests to the Kubernetes API (apply, create, update, delete) by verb and kind.",
      labelNames: ["verb", "kind"],
      registers,
    }),
    apiRequestDuration: new Histogram({
      name: "pagoda_operator_api_request_duration_seconds",
      help: "Time from sending a request to the Kubernetes API (excluding watches) to its answer, by verb, kind and HTTP status (timeout: none within the deadline; none: no answer, e.g. a refused connection).",
      labelNames: ["verb", "kind", "code"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    watchRestarts: new Counter({
      name: "pagoda_operator_watch_restarts_total",
      help: "Watches restarted after an error.",
      labelNames: ["kind"],
      registers,
    }),
    watchEvents: new Counter({
      name: "pagoda_operator_watch_events_total",
      help: "Objects added, changed or deleted as seen by the watches.",
      labelNames: ["kind"],
      registers,
    }),
    watchEchoes: new Counter({
      name: "pagoda_operator_watch_echoes_total",
      help: "Watch events that only reported the operator's own write (the resourceVersion its write returned), so they queued no reconcile.",
      labelNames: ["kind"],
      registers,
    }),
    isLeader: new Gauge({ name: "pagoda_operator_leader", help: "1 while this instance holds the leader lease.", registers }),
    managedSites: new Gauge({ name: "pagoda_operator_staticsites", help: "StaticSites in the informer cache.", registers }),
    poolPushes: new Counter({ name: "pagoda_operator_pool_pushes_total", help: "Desired maps sent to a pool replica and accepted.", registers }),
    poolPushFailures: new Counter({
      name: "pagoda_operator_pool_push_failures_total",
      help: "Desired maps a pool replica did not accept (no answer, or an error status); retried with backoff.",
      registers,
    }),
    poolReplicasKnown: new Gauge({ name: "pagoda_operator_pool_replicas", help: "Running pool pods with an address the operator talks to.", registers }),
    poolReplicasReady: new Gauge({
      name: "pagoda_operator_pool_replicas_ready",
      help: "Pool pods that are Ready and whose agent answered the operator's last request.",
      registers,
    }),
    poolStateLag: new Histogram({
      name: "pagoda_operator_pool_state_lag_seconds",
      help: "Time from a new desired map to each pool replica reporting its nginx configuration built from it.",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
  };
}

/** Sum of a counter over all label values; for tests and the benchmark. */
export async function counterTotal(counter: Counter<string>): Promise<number> {
  const value = await counter.get();
  return value.values.reduce((sum, v) => sum + v.value, 0);
}
