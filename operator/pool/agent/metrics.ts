// Prometheus metrics of one pool agent; a registry of its own so several
// agents can run in one process (the tests).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface AgentMetrics {
  registry: Registry;
  cacheHits: Counter;
  cacheMisses: Counter;
  fetchedBytes: Counter;
  fetchFailures: Counter<"reason">;
  tampered: Counter;
  evictions: Counter;
  cacheEntries: Gauge;
  cacheBytes: Gauge;
  applies: Counter<"result">;
  reloads: Counter;
  applyDuration: Histogram;
  sites: Gauge<"state">;
  previewsActivated: Counter;
  previewsDeactivated: Counter;
  previewsActive: Gauge;
  previewUses: Counter;
  mirrorArtifacts: Gauge<"state">;
  mirrorRequests: Counter<"result">;
}

export function createAgentMetrics(opts: { defaultMetrics?: boolean } = {}): AgentMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "pagoda_pool_agent_" });
  const registers = [registry];
  return {
    registry,
    cacheHits: new Counter({ name: "pagoda_pool_cache_hits_total", help: "Artifacts needed and found verified in the store.", registers }),
    cacheMisses: new Counter({ name: "pagoda_pool_cache_misses_total", help: "Artifacts needed and not in the store (fetched).", registers }),
    fetchedBytes: new Counter({ name: "pagoda_pool_fetched_bytes_total", help: "Bytes of artifacts downloaded.", registers }),
    fetchFailures: new Counter({
      name: "pagoda_pool_fetch_failures_total",
      help: "Artifact downloads that failed, by reason (ArtifactFetchFailed, ArtifactInvalid).",
      labelNames: ["reason"],
      registers,
    }),
    tampered: new Counter({
      name: "pagoda_pool_store_tampered_total",
      help: "Tarballs in the store whose content no longer had their digest (deleted).",
      registers,
    }),
    evictions: new Counter({ name: "pagoda_pool_cache_evictions_total", help: "Tarballs evicted from the store.", registers }),
    cacheEntries: new Gauge({ name: "pagoda_pool_cache_entries", help: "Tarballs in the store.", registers }),
    cacheBytes: new Gauge({ name: "pagoda_pool_cache_bytes", help: "Bytes of tarballs in the store.", registers }),
    applies: new Counter({
      name: "pagoda_pool_applies_total",
      help: "Desired maps applied, by result (success, error).",
      labelNames: ["result"],
      registers,
    }),
    reloads: new Counter({
      name: "pagoda_pool_reloads_total",
      help: "Applies that loaded a new nginx configuration; the others only moved sites' links to other digests.",
      registers,
    }),
    applyDuration: new Histogram({
      name: "pagoda_pool_apply_duration_seconds",
      help: "From starting an apply (fetching what is missing) to nginx serving what it made.",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    sites: new Gauge({ name: "pagoda_pool_sites", help: "Sites of the applied desired map, by state (serving, error).", labelNames: ["state"], registers }),
    previewsActivated: new Counter({
      name: "pagoda_pool_previews_activated_total",
      help: "Previews made ready and served on a first request for their host.",
      registers,
    }),
    previewsDeactivated: new Counter({
      name: "pagoda_pool_previews_deactivated_total",
      help: "Previews no longer served here: least recently used past the bound, or gone from the map.",
      registers,
    }),
    previewUses: new Counter({
      name: "pagoda_pool_preview_uses_total",
      help: "Requests to activated previews, as nginx reports them to the agent (what least recently used is judged by).",
      registers,
    }),
    previewsActive: new Gauge({ name: "pagoda_pool_previews_active", help: "Previews the running configuration serves.", registers }),
    mirrorArtifacts: new Gauge({
      name: "pagoda_pool_mirror_artifacts",
      help: "Dedicated sites' deploys the map asks this replica to mirror, by state (held, missing).",
      labelNames: ["state"],
      registers,
    }),
    mirrorRequests: new Counter({
      name: "pagoda_pool_mirror_requests_total",
      help: "Requests of dedicated sites' pods for a mirrored tarball, by result (served, missing).",
      labelNames: ["result"],
      registers,
    }),
  };
}
