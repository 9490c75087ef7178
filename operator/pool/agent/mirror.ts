// The mirror: the tarballs of dedicated sites' deploys, kept in the store so
// that a dedicated site's pod that starts (a node drain, a crash) fetches
// its artifact from the pool instead of the dashboard (docs/serving.md,
// "Independent of the control plane").
//
// Kept apart from the applies: the pool's own sites never wait on a
// dedicated site's download, and a download that fails only delays the
// mirror, which retries with a backoff; the site's pods still have the
// dashboard's URL.
import type { BackoffPolicy } from "@/lib/kube/backoff";
import { componentLogger } from "@/lib/log";
import type { PoolDesired } from "../protocol";
import { mapLimit } from "./map-limit";
import type { AgentMetrics } from "./metrics";
import { SerialRunner, type RunOutcome } from "./serial-runner";
import type { ArtifactStore } from "./store";

const log = componentLogger("pool-mirror");

/** Downloads at once: the mirror fills in the background, behind the applies. */
const MIRROR_CONCURRENCY = 2;
const RETRY: BackoffPolicy = { baseMs: 5_000, maxMs: 300_000 };

/** The deploys a map asks the pool to mirror: each dedicated site's (an entry with no hosts), by digest. */
export function mirroredDeploys(desired: PoolDesired | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const site of desired?.sites ?? []) if (site.hosts.length === 0 && !out.has(site.digest)) out.set(site.digest, site.url);
  return out;
}

export class ArtifactMirror {
  /** Digest → URL of every deploy the newest map asks for. */
  private wanted = new Map<string, string>();
  /** Digests verified in the store since this agent started: no hash of every tarball on every map. */
  private readonly held = new Set<string>();
  private readonly syncs = new SerialRunner(
    () => this.syncOnce(),
    RETRY,
    (error) => log.error({ err: error }, "mirror sync failed"),
  );
  private stopped = false;

  constructor(
    private readonly store: ArtifactStore,
    private readonly metrics: AgentMetrics,
  ) {}

  /** Takes the deploys of a new map and fetches those not held yet. */
  want(desired: PoolDesired | undefined): void {
    this.wanted = mirroredDeploys(desired);
    for (const digest of this.held) if (!this.wanted.has(digest)) this.held.delete(digest);
    this.syncs.kick();
  }

  /**
   * The path of a verified tarball for a pod's request, or undefined: the
   * mirror hands out only the deploys the newest map asks for, checked
   * against their digest again on every request (a tarball changed on the
   * node is deleted, fetched again, and not handed out meanwhile).
   */
  async open(digest: string): Promise<string | undefined> {
    if (!this.wanted.has(digest)) return undefined;
    const file = await this.store.verified(digest);
    if (!file && this.held.delete(digest)) this.syncs.kick();
    this.metrics.mirrorRequests.inc({ result: file ? "served" : "missing" });
    return file;
  }

  stop(): void {
    this.stopped = true;
    this.syncs.stop();
  }

  private async syncOnce(): Promise<RunOutcome> {
    const missing = [...this.wanted].filter(([digest]) => !this.held.has(digest));
    let failed = 0;
    await mapLimit(missing, MIRROR_CONCURRENCY, async ([digest, url]) => {
      if (this.stopped) return;
      try {
        await this.store.ensure(digest, url);
        if (this.wanted.has(digest)) this.held.add(digest);
      } catch (error) {
        failed++;
        log.warn({ err: error, digest }, "a dedicated site's deploy could not be mirrored; its pods fetch it from its URL meanwhile");
      }
    });
    this.metrics.mirrorArtifacts.set({ state: "held" }, this.held.size);
    this.metrics.mirrorArtifacts.set({ state: "missing" }, this.wanted.size - this.held.size);
    return failed > 0 ? "retry" : "done";
  }
}
