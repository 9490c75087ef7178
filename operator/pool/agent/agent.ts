// The pool agent's core: takes whole desired maps, makes each site's artifact
// ready (store → unpacked tree), renders one nginx configuration for all of
// them, applies it gracefully, and reports what nginx really serves.
//
// Applies run one at a time; desired maps that arrive meanwhile coalesce into
// the next one, which always takes the newest. A site keeps what it served
// (its previous server block) while its wanted digest cannot be made ready or
// its rules do not parse; its state carries the error meanwhile.
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { BackoffPolicy } from "@/lib/kube/backoff";
import { componentLogger } from "@/lib/log";
import { parseSiteRules } from "../../children";
import { checkSiteServing } from "../../nginx-config";
import type { SiteRules } from "../../nginx-rules";
import type { PoolDesired, PoolSite, PoolState, ServedSite } from "../protocol";
import type { AgentConfig } from "./config";
import { mapLimit } from "./map-limit";
import { createAgentMetrics, type AgentMetrics } from "./metrics";
import { ArtifactMirror } from "./mirror";
import { NginxConfigTestError, NginxProcess, testNginxConfig } from "./nginx";
import { digestHex, renderPoolConfig, renderPoolRules, siteAtLine, siteLink, siteLinkDir, siteTreeDir, type PoolServerSite } from "./render";
import { SerialRunner, type RunOutcome } from "./serial-runner";
import { ArtifactError, ArtifactStore, type StoreOptions } from "./store";
import { ArtifactInvalidError, UNPACKING_MARK, unpackTarball } from "./unpack";

const log = componentLogger("pool-agent");

/** Sites made ready at once in an apply: downloads and unpacks overlap, without flooding the disk. */
const PREPARE_CONCURRENCY = 4;
/** Links switched at once: each is a symlink and a rename, so this is only about keeping the thread pool's queue short. */
const LINK_CONCURRENCY = 16;
const MESSAGE_MAX = 1024;
/** Sites refused one by one by nginx -t in one apply before every changed site is held back at once. */
const MAX_REFUSED_SITES = 20;
/** Retries of an apply that failed or left an artifact unfetched (a new push retries at once). */
const RETRY: BackoffPolicy = { baseMs: 5_000, maxMs: 300_000 };

type SiteError = NonNullable<ServedSite["error"]>;

/** A preview host of the map: the site it belongs to and the deploy it serves. */
interface PreviewEntry {
  key: string;
  digest: string;
  url: string;
}

/** A preview activated on this replica (or being activated): rendered into every configuration until deactivated. */
interface ActivePreview {
  host: string;
  key: string;
  digest: string;
  /** Tick of the use clock at its activation or its last request. */
  lastUsed: number;
}

/** Waits for the first configuration rendered after its preview was activated; true if that configuration serves it. */
interface PreviewWaiter {
  id: string;
  resolve: (served: boolean) => void;
}

/** What the preview listener answers: a redirect to the same address once nginx serves it, 404 as for any unknown host, or 502. */
export type PreviewAnswer = { status: 307 } | { status: 404 } | { status: 502; message: string };

function previewId(p: { host: string; digest: string }): string {
  return `${p.host} ${p.digest}`;
}

/**
 * Preview hosts of a map. A host that is some site's own never serves a
 * preview, and a preview host listed by two sites goes to the first (the
 * operator gives out neither; the agent holds to it anyway).
 */
function previewIndexOf(desired: PoolDesired | undefined): Map<string, PreviewEntry> {
  const index = new Map<string, PreviewEntry>();
  if (!desired) return index;
  const main = new Set(desired.sites.flatMap((s) => s.hosts));
  for (const site of desired.sites) {
    for (const p of site.previews ?? []) {
      if (main.has(p.host) || index.has(p.host)) continue;
      index.set(p.host, { key: site.key, digest: p.digest, url: p.url });
    }
  }
  return index;
}

/** A site in the running configuration: the spec it was made from, its parsed rules, and the hosts it got. */
interface Served {
  site: PoolSite;
  rules?: SiteRules;
  hosts: string[];
}

/** nginx -t refused a rendered configuration; `site` is the key whose text the refused line belongs to, if any. */
class ConfigRefusedError extends Error {
  override readonly name = "ConfigRefusedError";
  constructor(
    message: string,
    readonly site: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get firstLine(): string {
    return (this.message.split("\n")[0] ?? this.message).replace(/^nginx: \[emerg\] /, "");
  }
}

export class DesiredMapError extends Error {
  override readonly name = "DesiredMapError";
}

export type StoreTuning = Pick<StoreOptions, "maxArtifactBytes" | "fetchTimeoutMs" | "attempts" | "backoff">;

export interface AgentOptions {
  config: AgentConfig;
  metrics?: AgentMetrics;
  store?: StoreTuning;
}

function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > MESSAGE_MAX ? `${text.slice(0, MESSAGE_MAX - 1)}…` : text;
}

/** What a site's server block is made from; not its URL, which a signed URL changes on every push. */
function servingKey(site: PoolSite): string {
  return JSON.stringify([site.digest, site.hosts, site.spa, site.notFoundPage ?? null, site.rules?.redirects ?? null, site.rules?.headers ?? null]);
}

export class PoolAgent {
  readonly metrics: AgentMetrics;
  readonly store: ArtifactStore;
  readonly mirror: ArtifactMirror;
  private readonly nginx: NginxProcess;
  private readonly confDir: string;
  private readonly sitesDir: string;
  private readonly liveDir: string;

  /** The newest desired map received (pushed or read from the store at start). */
  private desired: PoolDesired | undefined;
  private desiredText = "";
  /** The desired map the running configuration was built from. */
  private applied: PoolDesired | undefined;
  private served = new Map<string, Served>();
  private errors = new Map<string, SiteError>();
  /** Digests of the running configuration and of the one before it: their trees stay (old workers may still read them). */
  private treesInUse: [Set<string>, Set<string>] = [new Set(), new Set()];
  /** Hex digests of the complete trees in the work dir, which is this agent's alone: no stat per site per apply. */
  private readonly trees = new Set<string>();
  /** Each site link made and the digest it points at. */
  private readonly links = new Map<string, string>();
  /** Links of the running configuration and of the one before it, like treesInUse. */
  private linksInUse: [Set<string>, Set<string>] = [new Set(), new Set()];
  /** The running configuration's text without its apply id: an apply that renders the same text needs no reload. */
  private runningText: string | undefined;
  /** The newest write of a received map to the store. */
  private persisting: Promise<void> = Promise.resolve();
  private cache = { entries: 0, bytes: 0 };

  /** The applies, one at a time, of the newest map. */
  private readonly applies: SerialRunner;
  private applyCount = 0;
  private readonly unpacking = new Map<string, Promise<void>>();
  private stopped = false;

  /** Preview hosts of the newest map. */
  private previewIndex = new Map<string, PreviewEntry>();
  /** Previews the next configuration renders, by host. */
  private activePreviews = new Map<string, ActivePreview>();
  /** `previewId`s the running configuration serves. */
  private servedPreviews = new Set<string>();
  private readonly activations = new Map<string, Promise<PreviewAnswer>>();
  private previewWaiters = new Set<PreviewWaiter>();
  private useClock = 0;

  /**
   * Starts at the clock's milliseconds, not 0: the operator's long-poll may
   * carry a version of this pod's previous agent, which a restarted count
   * would have to climb past before the poll saw any change.
   */
  private version = Date.now();
  private stateKey = "";
  private waiters = new Set<() => void>();

  constructor(private readonly opts: AgentOptions) {
    const c = opts.config;
    this.metrics = opts.metrics ?? createAgentMetrics();
    this.store = new ArtifactStore({ dir: c.storeDir, maxBytes: c.storeMaxBytes, metrics: this.metrics, ...opts.store });
    this.mirror = new ArtifactMirror(this.store, this.metrics);
    // A failed apply is the machinery's failure (a fetch, nginx), not the map's: the same map is applied again later.
    this.applies = new SerialRunner(
      async () => (this.desired ? this.applyOnce(this.desired) : "done"),
      RETRY,
      (error) => log.error({ err: error }, "apply failed; the running configuration stays"),
    );
    this.confDir = path.join(c.workDir, "conf");
    this.sitesDir = path.join(c.workDir, "sites");
    this.liveDir = path.join(c.workDir, "live");
    this.nginx = new NginxProcess({ binary: c.nginxBinary, prefix: c.workDir, confPath: path.join(this.confDir, "nginx.conf"), controlPort: c.controlPort });
    this.stateKey = JSON.stringify(this.stateBody());
  }

  /** Resolves when nginx exits; before stop() that is a failure the pod must restart for. */
  get nginxExited(): Promise<unknown> {
    return this.nginx.exited;
  }

  get isStopping(): boolean {
    return this.nginx.isStopping;
  }

  get nginxRunning(): boolean {
    return this.nginx.running;
  }

  get nginxPid(): number | undefined {
    return this.nginx.pid;
  }

  /** Ready once a desired map has been applied: every site of it then serves its wanted digest or has an error. */
  get ready(): boolean {
    return this.applied !== undefined;
  }

  /** Prepares the directories, starts nginx on an empty configuration, then applies the store's desired map if there is one. */
  async start(): Promise<void> {
    const c = this.opts.config;
    await mkdir(this.confDir, { recursive: true });
    await mkdir(this.sitesDir, { recursive: true, mode: 0o755 });
    // Links of an earlier run: the configuration nginx starts on names none.
    await rm(this.liveDir, { recursive: true, force: true });
    await mkdir(this.liveDir, { mode: 0o755 });
    await mkdir(path.join(c.workDir, "tmp"), { recursive: true });
    for (const name of await readdir(this.sitesDir)) {
      // A tree half-unpacked when the agent died: never served, never complete.
      if (name.includes(UNPACKING_MARK)) await rm(path.join(this.sitesDir, name), { recursive: true, force: true });
      else this.trees.add(name);
    }
    for (const name of await readdir(this.confDir)) {
      if (name !== "nginx.conf") await rm(path.join(this.confDir, name), { force: true });
    }
    await this.store.init();
    const applyId = this.nextApplyId(0);
    const text = this.renderConfig([], applyId);
    await rename(await this.writeAndTest(text, applyId), path.join(this.confDir, "nginx.conf"));
    await this.nginx.start(applyId);
    this.runningText = text.replace(applyId, "");
    this.cache = await this.store.evict(new Set());
    const persisted = await this.store.readDesired();
    if (persisted) {
      log.info({ generation: persisted.generation, sites: persisted.sites.length }, "applying the desired map from the store");
      this.desired = persisted;
      this.previewIndex = previewIndexOf(persisted);
      this.publish();
      this.applies.kick();
      this.mirror.want(persisted);
    }
  }

  /** Takes a pushed desired map; an older generation than the newest held is refused (false). */
  async receive(desired: PoolDesired): Promise<boolean> {
    if (this.desired && desired.generation < this.desired.generation) return false;
    const keys = new Set<string>();
    for (const site of desired.sites) {
      if (keys.has(site.key)) throw new DesiredMapError(`site ${JSON.stringify(site.key)} appears twice`);
      keys.add(site.key);
    }
    // The operator pushes the same map again to resync: nothing to do unless something is still to retry.
    const text = JSON.stringify(desired);
    if (desired.generation === this.desired?.generation && text === this.desiredText && this.applies.failures === 0) return true;
    this.desired = desired;
    this.desiredText = text;
    this.previewIndex = previewIndexOf(desired);
    this.publish();
    this.mirror.want(desired);
    // The apply does not wait for the map to be on disk (that only serves a restart); writes go one at a time, in order.
    this.applies.kick();
    const write = this.persisting.then(() => this.store.writeDesired(desired));
    this.persisting = write.catch(() => undefined);
    await write;
    return true;
  }

  private nextApplyId(generation: number): string {
    return `${generation}-${++this.applyCount}-${randomBytes(3).toString("hex")}`;
  }

  /** Makes the unpacked tree of `digest` exist, from the store or from `url`. */
  private ensureTree(digest: string, url: string): Promise<void> {
    let pending = this.unpacking.get(digest);
    if (!pending) {
      pending = (async () => {
        // Trusted without a check: the work dir is the pod's own and a tree gets its name only once complete.
        if (this.trees.has(digestHex(digest))) return;
        const tarball = await this.store.ensure(digest, url);
        await unpackTarball(tarball, siteTreeDir(this.opts.config.workDir, digest));
        this.trees.add(digestHex(digest));
      })().finally(() => this.unpacking.delete(digest));
      this.unpacking.set(digest, pending);
    }
    return pending;
  }

  private async applyOnce(desired: PoolDesired): Promise<RunOutcome> {
    const startedAt = process.hrtime.bigint();
    const next = new Map<string, Served>();
    const errors = new Map<string, SiteError>();
    const keep = (key: string) => {
      const prev = this.served.get(key);
      if (prev) next.set(key, prev);
    };
    await mapLimit(desired.sites, PREPARE_CONCURRENCY, async (site) => {
      let rules: SiteRules | undefined;
      try {
        checkSiteServing(site.spa, site.notFoundPage);
        rules = parseSiteRules(site.rules, this.opts.config.proxy);
        renderPoolRules({ key: site.key, spa: site.spa, rules }, this.opts.config.proxy);
      } catch (error) {
        errors.set(site.key, { reason: "ConfigInvalid", message: message(error) });
        keep(site.key);
        return;
      }
      // A dedicated site: its own pods serve its deploy, which the mirror keeps for them; nothing to unpack here.
      if (site.hosts.length === 0) {
        next.set(site.key, { site, rules, hosts: [] });
        return;
      }
      try {
        await this.ensureTree(site.digest, site.url);
      } catch (error) {
        const reason = error instanceof ArtifactError ? error.reason : error instanceof ArtifactInvalidError ? "ArtifactInvalid" : "ArtifactFetchFailed";
        if (!(error instanceof ArtifactError || error instanceof ArtifactInvalidError))
          log.error({ err: error, key: site.key }, "artifact could not be made ready");
        errors.set(site.key, { reason, message: message(error) });
        keep(site.key);
        return;
      }
      next.set(site.key, { site, rules, hosts: [] });
    });

    const prepared = process.hrtime.bigint();
    // Waiters from before this apply learn from it whether their preview is served; later ones wait for the next.
    const waiting = [...this.previewWaiters];
    for (const w of waiting) this.previewWaiters.delete(w);
    let rendered: ActivePreview[] = [];
    try {
      await this.preparePreviews(desired);
    } catch (error) {
      for (const w of waiting) w.resolve(false);
      throw error;
    }

    let applyId = this.nextApplyId(desired.generation);
    let tested = prepared;
    let reload = false;
    let servers: PoolServerSite[] = [];
    try {
      let file: string | undefined;
      let text = "";
      for (let attempt = 1; ; attempt++) {
        try {
          servers = this.arbitrate(desired, next);
          rendered = this.attachPreviews(servers);
          text = this.renderConfig(servers, applyId);
          // The same text as running (only digests moved, so only links change): nothing for nginx to load.
          if (text.replace(applyId, "") === this.runningText) break;
          file = await this.writeAndTest(text, applyId);
          break;
        } catch (error) {
          if (!(error instanceof ConfigRefusedError)) throw error;
          // A preview newly rendered where nginx points: it goes, the site and its served previews stay as they were.
          const fresh = rendered.filter((p) => p.key === error.site && !this.servedPreviews.has(previewId(p)));
          if (fresh.length > 0) {
            log.warn({ key: error.site, hosts: fresh.map((p) => p.host), error: error.firstLine }, "nginx refused a preview's server");
            for (const p of fresh) this.activePreviews.delete(p.host);
            applyId = this.nextApplyId(desired.generation);
            continue;
          }
          // Something new broke the configuration: the site whose text nginx points at keeps what it served and
          // the rest goes ahead; when the line names no site (or after many), every changed site does.
          const changed = [...next].filter(([key, entry]) => {
            const served = this.served.get(key);
            return !served || servingKey(served.site) !== servingKey(entry.site);
          });
          const culprit = attempt <= MAX_REFUSED_SITES ? changed.filter(([key]) => key === error.site) : [];
          const reverted = culprit.length > 0 ? culprit : changed;
          if (reverted.length === 0) throw error;
          for (const [key] of reverted) {
            errors.set(key, { reason: "ConfigInvalid", message: message(`nginx refused the configuration: ${error.firstLine}`) });
            next.delete(key);
            keep(key);
          }
          applyId = this.nextApplyId(desired.generation);
        }
      }
      tested = process.hrtime.bigint();
      // A rename each: a request opens a file through a link once, so it reads the old tree or the new one, never both.
      await this.switchLinks(servers);
      if (file) {
        reload = true;
        await rename(file, path.join(this.confDir, "nginx.conf"));
        await this.nginx.reload(applyId);
        this.runningText = text.replace(applyId, "");
        this.metrics.reloads.inc();
      }
    } catch (error) {
      this.metrics.applies.inc({ result: "error" });
      for (const w of waiting) w.resolve(false);
      throw error;
    }

    this.served = next;
    this.errors = errors;
    this.applied = desired;
    this.servedPreviews = new Set(rendered.map(previewId));
    for (const w of waiting) w.resolve(this.servedPreviews.has(w.id));
    this.metrics.previewsActive.set(rendered.length);
    this.treesInUse = [
      new Set([...[...next.values()].filter((s) => s.site.hosts.length > 0).map((s) => s.site.digest), ...rendered.map((p) => p.digest)]),
      this.treesInUse[0],
    ];
    this.linksInUse = [new Set(servers.filter((s) => s.hosts.length > 0).map(siteLink)), this.linksInUse[0]];
    const reloaded = process.hrtime.bigint();
    this.metrics.applies.inc({ result: "success" });
    this.metrics.applyDuration.observe(Number(reloaded - startedAt) / 1e9);
    this.metrics.sites.set({ state: "serving" }, desired.sites.length - errors.size);
    this.metrics.sites.set({ state: "error" }, errors.size);
    // Reported before the clean-up below: the operator's status (and so a deploy's "Live") waits on this report.
    this.publish();
    const ms = (from: bigint, to: bigint) => Math.round(Number(to - from) / 1e5) / 10;
    log.info(
      {
        generation: desired.generation,
        sites: desired.sites.length,
        errors: errors.size,
        reload,
        ms: { prepare: ms(startedAt, prepared), renderAndTest: ms(prepared, tested), switchAndReload: ms(tested, reloaded), total: ms(startedAt, reloaded) },
      },
      "desired map applied",
    );

    await this.removeUnusedLinks();
    await this.removeUnusedTrees();
    const wanted = new Set([...desired.sites.map((s) => s.digest), ...[...this.activePreviews.values()].map((p) => p.digest)]);
    const shared = await this.store.readDesired();
    if (shared && shared.generation >= desired.generation) for (const s of shared.sites) wanted.add(s.digest);
    this.cache = await this.store.evict(wanted);
    this.publish();

    if ([...errors.values()].some((e) => e.reason === "ArtifactFetchFailed")) {
      log.warn("some artifacts could not be fetched; trying again later");
      return "retry";
    }
    return "done";
  }

  /**
   * Drops the activated previews `desired` no longer lists (at that digest,
   * for that site) and makes the trees of the others exist: a tree may have
   * been removed between its activation and this apply. A preview whose tree
   * cannot be made is dropped, and its waiter answers 502.
   */
  private async preparePreviews(desired: PoolDesired): Promise<void> {
    const index = previewIndexOf(desired);
    for (const p of [...this.activePreviews.values()]) {
      const entry = index.get(p.host);
      if (!entry || entry.digest !== p.digest || entry.key !== p.key) this.deactivate(p.host, "no longer in the map");
    }
    await mapLimit([...this.activePreviews.values()], PREPARE_CONCURRENCY, async (p) => {
      try {
        await this.ensureTree(p.digest, index.get(p.host)?.url ?? "");
      } catch (error) {
        log.warn({ err: error, host: p.host, key: p.key }, "a preview's artifact could not be made ready");
        this.deactivate(p.host, "artifact not ready");
      }
    });
  }

  /** Gives each server its activated previews; a preview host some server already names is left out. Returns those rendered. */
  private attachPreviews(servers: PoolServerSite[]): ActivePreview[] {
    const named = new Set(servers.flatMap((s) => s.hosts));
    const byKey = new Map(servers.map((s) => [s.key, s]));
    const out: ActivePreview[] = [];
    for (const p of this.activePreviews.values()) {
      const server = byKey.get(p.key);
      if (!server || named.has(p.host)) continue;
      server.previews = [...(server.previews ?? []), { host: p.host, digest: p.digest }];
      out.push(p);
    }
    return out;
  }

  private deactivate(host: string, why: string): void {
    const p = this.activePreviews.get(host);
    if (!p) return;
    this.activePreviews.delete(host);
    if (this.servedPreviews.has(previewId(p))) {
      this.metrics.previewsDeactivated.inc();
      log.info({ host, key: p.key, why }, "preview deactivated");
    }
  }

  /**
   * Keeps at most previewsMax activated, deactivating the least recently
   * used first; never `keep` (the one being activated), and never one whose
   * digest a site's own hosts serve (its tree stays anyway).
   */
  private boundPreviews(keep: string): void {
    const main = new Set([...this.served.values()].filter((s) => s.hosts.length > 0).map((s) => s.site.digest));
    while (this.activePreviews.size > this.opts.config.previewsMax) {
      let lru: ActivePreview | undefined;
      for (const p of this.activePreviews.values()) {
        if (p.host !== keep && !main.has(p.digest) && (!lru || p.lastUsed < lru.lastUsed)) lru = p;
      }
      if (!lru) return;
      this.deactivate(lru.host, "least recently used");
    }
  }

  /** `host[:port]` of a request's Host header, lower-cased, without the port; undefined when it is not a host name. */
  private static hostOf(header: string | undefined): string | undefined {
    const m = /^([a-z0-9.-]+)(?::\d{1,5})?$/.exec((header ?? "").toLowerCase());
    return m?.[1];
  }

  /** nginx mirrors each request of an activated preview here: it is in use. */
  touchPreview(hostHeader: string | undefined): void {
    const host = PoolAgent.hostOf(hostHeader);
    const p = host === undefined ? undefined : this.activePreviews.get(host);
    if (!p) return;
    p.lastUsed = ++this.useClock;
    this.metrics.previewUses.inc();
  }

  /**
   * A request for a preview host that no server names yet. A preview of the
   * map is made ready (its tree, from the store or its URL), rendered and
   * reloaded, then answered with a redirect to itself, which nginx serves.
   * Concurrent first requests for one preview share one activation.
   */
  activatePreview(hostHeader: string | undefined): Promise<PreviewAnswer> {
    const host = PoolAgent.hostOf(hostHeader);
    const entry = host === undefined ? undefined : this.previewIndex.get(host);
    if (host === undefined || !entry || this.stopped) return Promise.resolve({ status: 404 });
    const id = previewId({ host, digest: entry.digest });
    if (this.servedPreviews.has(id) && this.activePreviews.get(host)?.digest === entry.digest) {
      // Served already (this request left nginx before the reload): the redirect reaches the new server.
      const p = this.activePreviews.get(host);
      if (p) p.lastUsed = ++this.useClock;
      return Promise.resolve({ status: 307 });
    }
    let pending = this.activations.get(id);
    if (!pending) {
      pending = this.activate(host, entry).finally(() => this.activations.delete(id));
      this.activations.set(id, pending);
    }
    return pending;
  }

  private async activate(host: string, entry: PreviewEntry): Promise<PreviewAnswer> {
    const startedAt = process.hrtime.bigint();
    try {
      await this.ensureTree(entry.digest, entry.url);
    } catch (error) {
      log.warn({ err: error, host, key: entry.key }, "a preview's artifact could not be made ready");
      return { status: 502, message: "This preview could not be fetched; try again shortly.\n" };
    }
    // The map may have moved on while the artifact came.
    const now = this.previewIndex.get(host);
    if (!now || now.digest !== entry.digest || now.key !== entry.key || this.stopped) return { status: 404 };
    this.activePreviews.set(host, { host, key: entry.key, digest: entry.digest, lastUsed: ++this.useClock });
    this.boundPreviews(host);
    const id = previewId({ host, digest: entry.digest });
    const served = await new Promise<boolean>((resolve) => {
      this.previewWaiters.add({ id, resolve });
      this.applies.kick();
    });
    if (!served) {
      this.activePreviews.delete(host);
      return { status: 502, message: "This preview could not be served; try again shortly.\n" };
    }
    this.metrics.previewsActivated.inc();
    log.info({ host, key: entry.key, ms: Number(process.hrtime.bigint() - startedAt) / 1e6 }, "preview activated");
    return { status: 307 };
  }

  /**
   * The servers of the next configuration with their hosts. The operator
   * gives each host to one site; a site kept at its previous spec must not
   * hold on to a host that the map now gives to another.
   */
  private arbitrate(desired: PoolDesired, next: Map<string, Served>): PoolServerSite[] {
    const owner = new Map<string, string>();
    for (const site of desired.sites) for (const h of site.hosts) if (!owner.has(h)) owner.set(h, site.key);
    const claimed = new Set<string>();
    const out: PoolServerSite[] = [];
    for (const wanted of desired.sites) {
      const entry = next.get(wanted.key);
      if (!entry) continue;
      // A host nobody wants any more stays with a site kept at its old spec: that is what it served.
      const hosts = entry.site.hosts.filter((h) => !claimed.has(h) && (owner.get(h) ?? wanted.key) === wanted.key);
      for (const h of hosts) claimed.add(h);
      next.set(wanted.key, { ...entry, hosts });
      out.push({ key: wanted.key, digest: entry.site.digest, hosts, spa: entry.site.spa, notFoundPage: entry.site.notFoundPage, rules: entry.rules });
    }
    return out;
  }

  private renderConfig(sites: PoolServerSite[], applyId: string): string {
    const c = this.opts.config;
    return renderPoolConfig(sites, {
      workDir: c.workDir,
      listen: c.host === "0.0.0.0" ? String(c.sitePort) : `${c.host}:${c.sitePort}`,
      controlPort: c.controlPort,
      previewPort: c.previewPort,
      applyId,
      mimeTypesPath: c.mimeTypesPath,
      accessLog: c.accessLog,
      errorLog: c.errorLog,
      proxy: c.proxy,
    });
  }

  /** Writes the configuration under its apply's own name and has nginx check it; returns the file. */
  private async writeAndTest(text: string, applyId: string): Promise<string> {
    const c = this.opts.config;
    const file = path.join(this.confDir, `nginx.${applyId}.conf`);
    await writeFile(file, text);
    try {
      await testNginxConfig({ binary: c.nginxBinary, prefix: c.workDir, confPath: file, controlPort: c.controlPort }, file);
    } catch (error) {
      await rm(file, { force: true });
      if (!(error instanceof NginxConfigTestError)) throw error;
      const line = new RegExp(`in ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+)`).exec(error.message)?.[1];
      throw new ConfigRefusedError(error.message, line === undefined ? undefined : siteAtLine(text, Number(line)), { cause: error });
    }
    return file;
  }

  /** Points each server's link at its digest's tree, by a new link renamed over the old one. */
  private async switchLinks(servers: readonly PoolServerSite[]): Promise<void> {
    const changed = servers.filter((s) => s.hosts.length > 0 && this.links.get(siteLink(s)) !== s.digest);
    await mapLimit(changed, LINK_CONCURRENCY, async (s) => {
      const link = siteLink(s);
      const temp = path.join(this.liveDir, `.${link}.${randomBytes(4).toString("hex")}`);
      await symlink(path.join("..", "sites", digestHex(s.digest)), temp);
      await rename(temp, siteLinkDir(this.opts.config.workDir, link));
      this.links.set(link, s.digest);
    });
  }

  private async removeUnusedLinks(): Promise<void> {
    for (const link of [...this.links.keys()]) {
      if (this.linksInUse[0].has(link) || this.linksInUse[1].has(link)) continue;
      await rm(siteLinkDir(this.opts.config.workDir, link), { force: true });
      this.links.delete(link);
    }
  }

  private async removeUnusedTrees(): Promise<void> {
    const keep = new Set([...this.treesInUse[0], ...this.treesInUse[1]].map(digestHex));
    for (const name of await readdir(this.sitesDir)) {
      if (keep.has(name) || name.includes(UNPACKING_MARK)) continue;
      await rm(path.join(this.sitesDir, name), { recursive: true, force: true });
      this.trees.delete(name);
    }
  }

  private stateBody(): Omit<PoolState, "version"> {
    const sites: ServedSite[] = (this.applied?.sites ?? []).flatMap((wanted) => {
      const served = this.served.get(wanted.key);
      const error = this.errors.get(wanted.key);
      // A dedicated site (in the map for the mirror and its previews) is not reported: the operator reads a site
      // in a report as one the pool serves, and this replica serves nothing of its own for it.
      if (wanted.hosts.length === 0 && (served?.hosts.length ?? 0) === 0) return [];
      return [
        {
          key: wanted.key,
          ...(served ? { digest: served.site.digest } : {}),
          hosts: served?.hosts ?? [],
          ...(error ? { error } : {}),
        },
      ];
    });
    return {
      desiredGeneration: this.desired?.generation ?? 0,
      appliedGeneration: this.applied?.generation ?? 0,
      sites,
      cache: this.cache,
    };
  }

  private publish(): void {
    const body = this.stateBody();
    const key = JSON.stringify(body);
    if (key === this.stateKey) return;
    this.stateKey = key;
    this.version++;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  state(): PoolState {
    return { version: this.version, ...this.stateBody() };
  }

  /** The state once its version is past `after`, or the current one after `maxMs`. */
  async stateAfter(after: number, maxMs: number): Promise<PoolState> {
    // A version past ours is not one of ours (an earlier agent's): answer now.
    if (this.version !== after || this.stopped) return this.state();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, maxMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.add(done);
      timer.unref();
    });
    return this.state();
  }

  /** Stops applying and stops nginx gracefully (workers finish their requests). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.applies.stop();
    this.mirror.stop();
    for (const w of this.previewWaiters) w.resolve(false);
    this.previewWaiters.clear();
    for (const wake of this.waiters) wake();
    this.waiters.clear();
    await this.applies.settled();
    await this.nginx.stop();
  }
}
