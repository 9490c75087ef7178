// The operator's side of the conversation with each pool replica
// (operator/pool/protocol.ts): for every running pool pod, one loop that
// pushes the desired map whenever the replica reports an older generation,
// and otherwise long-polls the replica's state. What the replicas report is
// the only source of the shared sites' status.
import type { V1Pod } from "@kubernetes/client-node";
import { backoffDelay, type BackoffPolicy } from "../../lib/kube/backoff";
import type { InformerEvent } from "../../lib/kube/informer";
import { AGENT_PORT, AGENT_TOKEN_HEADER, poolStateSchema, STATE_WAIT_MAX_MS, type PoolDesired, type PoolState, type ServedSite } from "./protocol";
import type { ReplicaReport } from "./status";

/** The agent's address of a pool pod: its pod IP and AGENT_PORT; undefined while it has none. */
export function podAgentUrl(pod: V1Pod): string | undefined {
  const ip = pod.status?.podIP;
  if (!ip) return undefined;
  return `http://${ip.includes(":") ? `[${ip}]` : ip}:${AGENT_PORT}`;
}

/** Running, with an address, not terminating: a pod worth talking to. */
export function podReachable(pod: V1Pod): boolean {
  return pod.status?.phase === "Running" && !!pod.status.podIP && !pod.metadata?.deletionTimestamp;
}

export function podIsReady(pod: V1Pod): boolean {
  return !!pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
}

/**
 * Keys of the sites whose report differs between two states of one replica
 * (served digest, hosts or error), including sites that appear or vanish.
 * `undefined` stands for a replica that is not (or no longer) in touch.
 */
export function changedSites(before: PoolState | undefined, after: PoolState | undefined): string[] {
  const index = (s: PoolState | undefined) => new Map((s?.sites ?? []).map((site) => [site.key, site]));
  const a = index(before);
  const b = index(after);
  const same = (x: ServedSite | undefined, y: ServedSite | undefined) =>
    x?.digest === y?.digest &&
    x?.error?.reason === y?.error?.reason &&
    x?.error?.message === y?.error?.message &&
    (x?.hosts ?? []).join(" ") === (y?.hosts ?? []).join(" ");
  const out: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) if (!same(a.get(key), b.get(key))) out.push(key);
  return out;
}

export interface PoolReplicaMetrics {
  push(ok: boolean): void;
  replicas(known: number, ready: number): void;
  /** Seconds from a desired map's publication to a replica reporting it applied. */
  applied(seconds: number): void;
}

export interface PoolReplicasOptions {
  /** The pool's shared secret; undefined until the operator has read or made it. */
  token: () => string | undefined;
  /** The map to send; undefined until the first one is made. */
  desired: () => PoolDesired | undefined;
  /** Where a pod's agent answers; by default its pod IP (podAgentUrl). */
  agentUrl?: (pod: V1Pod) => string | undefined;
  /** Deadline of a push, and what a long poll may take beyond STATE_WAIT_MAX_MS. */
  requestTimeoutMs: number;
  backoff: BackoffPolicy;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  metrics?: PoolReplicaMetrics;
  /** A replica's report changed (or it came into or went out of touch): `before`/`after` undefined when not in touch. */
  onReport: (pod: string, before: PoolState | undefined, after: PoolState | undefined) => void;
  /** A replica holds a generation newer than the operator's map (operator/pool/desired.ts PoolGenerations.seen). */
  onGenerationSeen?: (generation: number) => void;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AgentError(`the agent answered something that is not JSON: ${text.slice(0, 120)}`);
  }
}

class AgentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AgentError";
  }
}

/** One pool pod and the loop talking to it. */
class Replica {
  ready: boolean;
  state: PoolState | undefined;
  inTouch = false;
  private stopped = false;
  private failures = 0;
  private pushedGeneration: number | undefined;
  /** Ask for the state without `after`: the agent may have restarted and counted its versions from 0 again. */
  private reread = false;
  private appliedReported: number | undefined;
  private poll: AbortController | undefined;
  private sleeping: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private readonly stopSignal = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly url: string,
    pod: V1Pod,
    private readonly owner: PoolReplicas,
    private readonly opts: PoolReplicasOptions,
  ) {
    this.ready = podIsReady(pod);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** The pod's readiness changed (a container restart, say): read the state afresh. */
  refresh(): void {
    this.reread = true;
    this.wake();
  }

  /** Something to send: stop waiting for the replica's next state. */
  wake(): void {
    this.poll?.abort(new Error("woken"));
    if (this.sleeping) {
      clearTimeout(this.sleeping.timer);
      this.sleeping.resolve();
      this.sleeping = undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort(new Error("replica forgotten"));
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let pushing = false;
      try {
        const token = this.opts.token();
        if (!token) {
          await this.sleep(this.opts.backoff.baseMs);
          continue;
        }
        const desired = this.opts.desired();
        if (desired && this.pushedGeneration !== desired.generation && (!this.state || this.state.desiredGeneration < desired.generation)) {
          pushing = true;
          const answer = await this.push(token, desired);
          pushing = false;
          this.pushedGeneration = desired.generation;
          this.opts.metrics?.push(answer.accepted);
          // Refused as older than what it holds: its state says which generation the next map must pass.
          this.accept(answer.state);
        }
        const after = this.inTouch && !this.reread ? this.state?.version : undefined;
        this.reread = false;
        const next = await this.fetchState(token, after);
        if (next) this.accept(next);
        this.failures = 0;
      } catch (err) {
        if (this.stopped) break;
        if (pushing) this.opts.metrics?.push(false);
        this.failures++;
        this.pushedGeneration = undefined;
        const retryInMs = backoffDelay(this.failures, this.opts.backoff);
        // Once per outage, then quietly: an agent that is down says so once.
        if (this.failures === 1 || this.inTouch)
          this.opts.log.warn(
            { pod: this.name, err: (err as Error).message, retryInMs },
            pushing ? "pushing the desired map failed" : "reading the replica's state failed",
          );
        this.outOfTouch();
        await this.sleep(retryInMs);
      }
    }
  }

  private accept(next: PoolState): void {
    const before = this.inTouch ? this.state : undefined;
    // A replica that holds less than it was sent lost it (a restart): send it again.
    if (this.pushedGeneration !== undefined && next.desiredGeneration < this.pushedGeneration) this.pushedGeneration = undefined;
    this.state = next;
    this.inTouch = true;
    this.owner.countReplicas();
    this.opts.onGenerationSeen?.(next.desiredGeneration);
    const desired = this.opts.desired();
    if (desired && next.appliedGeneration >= desired.generation && this.appliedReported !== desired.generation) {
      this.appliedReported = desired.generation;
      this.owner.appliedNow(desired.generation);
    }
    if (!before || before.version !== next.version) {
      this.owner.reportChanged();
      this.opts.onReport(this.name, before, next);
    }
  }

  private outOfTouch(): void {
    if (!this.inTouch) return;
    this.inTouch = false;
    this.owner.countReplicas();
    this.owner.reportChanged();
    this.opts.onReport(this.name, this.state, undefined);
  }

  private headers(token: string): Record<string, string> {
    return { [AGENT_TOKEN_HEADER]: token, accept: "application/json" };
  }

  /** Sends the map; the agent answers with its state, 202 when it took the map, 409 when it holds a newer one. */
  private async push(token: string, desired: PoolDesired): Promise<{ accepted: boolean; state: PoolState }> {
    const res = await fetch(`${this.url}/v1/desired`, {
      method: "PUT",
      headers: { ...this.headers(token), "content-type": "application/json" },
      body: JSON.stringify(desired),
      signal: AbortSignal.any([AbortSignal.timeout(this.opts.requestTimeoutMs), this.stopSignal.signal]),
    });
    const text = await res.text();
    if (res.status !== 202 && res.status !== 409) throw new AgentError(`PUT /v1/desired answered ${res.status}: ${text.slice(0, 300)}`);
    const body = parseJson(text);
    const state = poolStateSchema.safeParse(res.status === 409 ? (body as { state?: unknown } | undefined)?.state : body);
    if (!state.success)
      throw new AgentError(`PUT /v1/desired answered ${res.status} without a state that parses: ${state.error.issues[0]?.message ?? "invalid"}`);
    return { accepted: res.status === 202, state: state.data };
  }

  /** The replica's state, after `after` if given (a long poll); undefined when woken to push. */
  private async fetchState(token: string, after: number | undefined): Promise<PoolState | undefined> {
    this.poll = new AbortController();
    const waitMs = after === undefined ? 0 : STATE_WAIT_MAX_MS;
    try {
      const res = await fetch(`${this.url}/v1/state${after === undefined ? "" : `?after=${after}`}`, {
        headers: this.headers(token),
        signal: AbortSignal.any([AbortSignal.timeout(waitMs + this.opts.requestTimeoutMs), this.stopSignal.signal, this.poll.signal]),
      });
      const text = await res.text();
      if (!res.ok) throw new AgentError(`GET /v1/state answered ${res.status}: ${text.slice(0, 300)}`);
      const parsed = poolStateSchema.safeParse(parseJson(text));
      if (!parsed.success) throw new AgentError(`GET /v1/state answered a state that does not parse: ${parsed.error.issues[0]?.message ?? "invalid"}`);
      return parsed.data;
    } catch (err) {
      if (this.poll.signal.aborted && !this.stopped) return undefined;
      throw err;
    } finally {
      this.poll = undefined;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeping = undefined;
        resolve();
      }, ms);
      this.sleeping = { timer, resolve };
    });
  }
}

/**
 * Every running pool pod, from the pool's Pod watch. Pods that go away (or
 * change address) are forgotten, their loop stopped, and their sites told.
 */
export class PoolReplicas {
  private readonly replicas = new Map<string, Replica>();
  private served: Set<string> | undefined;
  private running = false;
  private publishedAt: { generation: number; at: number } | undefined;

  constructor(private readonly opts: PoolReplicasOptions) {}

  /** Starts talking to the pods seen so far and to every pod seen from now on. */
  start(pods: readonly V1Pod[] = []): void {
    for (const pod of pods) this.podChanged("add", pod);
    this.running = true;
    for (const replica of this.replicas.values()) replica.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    const all = [...this.replicas.values()];
    this.replicas.clear();
    await Promise.all(all.map((r) => r.stop()));
  }

  podChanged(event: InformerEvent, pod: V1Pod): void {
    const name = pod.metadata?.name;
    if (!name) return;
    const known = this.replicas.get(name);
    const url = event !== "delete" && podReachable(pod) ? (this.opts.agentUrl ?? podAgentUrl)(pod) : undefined;
    if (known && known.url === url) {
      const ready = podIsReady(pod);
      if (ready !== known.ready) {
        known.ready = ready;
        known.refresh();
        // To its sites, a replica turning (un)ready is one coming into (or going out of) service.
        const state = known.inTouch ? known.state : undefined;
        if (state) this.opts.onReport(name, ready ? undefined : state, ready ? state : undefined);
      }
    } else {
      if (known) this.forget(name, known);
      if (url) {
        const replica = new Replica(name, url, pod, this, this.opts);
        this.replicas.set(name, replica);
        if (this.running) replica.start();
      }
    }
    this.countReplicas();
  }

  /** A new desired map: every replica behind it is sent it now. */
  desiredChanged(): void {
    const desired = this.opts.desired();
    if (desired && desired.generation !== this.publishedAt?.generation) this.publishedAt = { generation: desired.generation, at: Date.now() };
    for (const replica of this.replicas.values()) replica.wake();
  }

  /** What each known pool pod reports; `ready` only for Ready pods the operator is in touch with. */
  reports(): ReplicaReport[] {
    return [...this.replicas.values()].map((r) => ({ pod: r.name, ready: r.ready && r.inTouch, state: r.inTouch ? r.state : undefined }));
  }

  /** Every site any replica in touch reports serving (a restarted operator learns from them what the pool serves). */
  servedKeys(): ReadonlySet<string> {
    if (this.served) return this.served;
    const out = new Set<string>();
    for (const r of this.replicas.values()) if (r.inTouch) for (const s of r.state?.sites ?? []) out.add(s.key);
    this.served = out;
    return out;
  }

  /** @internal a replica's report changed. */
  reportChanged(): void {
    this.served = undefined;
  }

  /** @internal a replica reports the current map applied. */
  appliedNow(generation: number): void {
    if (this.publishedAt?.generation === generation) this.opts.metrics?.applied((Date.now() - this.publishedAt.at) / 1000);
    this.countReplicas();
  }

  private forget(name: string, replica: Replica): void {
    this.replicas.delete(name);
    this.served = undefined;
    const before = replica.inTouch ? replica.state : undefined;
    void replica.stop().catch((err: unknown) => this.opts.log.warn({ pod: name, err: (err as Error).message }, "stopping a replica's loop failed"));
    this.opts.log.info({ pod: name }, "pool replica forgotten");
    if (before) this.opts.onReport(name, before, undefined);
  }

  /** @internal a replica came into or went out of touch. */
  countReplicas(): void {
    const all = [...this.replicas.values()];
    this.opts.metrics?.replicas(all.length, all.filter((r) => r.ready && r.inTouch).length);
  }
}
