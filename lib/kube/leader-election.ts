// Leader election on a coordination.k8s.io/v1 Lease, following client-go's
// rules: a lease is expired when its record has not changed for its duration
// as measured on *our* clock (no trust in other nodes' clocks); updates use
// the read resourceVersion so two candidates cannot both win; a leader that
// cannot renew within the renew deadline steps down before the lease expires.
import { CoordinationV1Api, V1MicroTime, type V1Lease } from "@kubernetes/client-node";
import { isConflict, isNotFound, type KubeRequester } from "./request";
import { keyString } from "./object-key";

/** What the elector logs with; a pino logger fits. */
export interface LeaderElectorLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface LeaderElectorOptions {
  /** The caller's requester: its deadline and metrics hooks apply to the lease requests too. */
  requester: KubeRequester;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  /** A leader that has not renewed for this long stops leading. */
  renewDeadlineMs: number;
  /** Time between attempts. */
  retryPeriodMs: number;
  log: LeaderElectorLog;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
}

export class LeaderElector {
  private leader = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private observedRecord = "";
  private observedAt = 0;
  private lastRenew = 0;

  private readonly leases: CoordinationV1Api;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.leases = opts.requester.client(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  /** Stops competing; a leader releases the lease so a successor need not wait for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.leader) {
      // Stop reconciling before a successor can start.
      await this.setLeader(false);
      await this.release();
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let renewed = false;
      try {
        renewed = await this.attemptWithinDeadline();
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message, lease: this.leaseName() }, "leader election attempt failed");
      }
      if (this.stopped) break;
      const now = Date.now();
      if (renewed) {
        this.lastRenew = now;
        if (!this.leader) await this.setLeader(true);
      } else if (this.leader && now - this.lastRenew >= this.opts.renewDeadlineMs) {
        this.opts.log.error({ lease: this.leaseName() }, "could not renew the leader lease in time; stepping down");
        await this.setLeader(false);
      }
      await this.sleep(this.opts.retryPeriodMs);
    }
  }

  /**
   * A leader's attempt counts only if it completes before the renew
   * deadline. A request that hangs (its own timeout can be longer than the
   * lease) must not keep this instance leading while another may already
   * have taken the expired lease; the late answer is then ignored.
   */
  private async attemptWithinDeadline(): Promise<boolean> {
    const attempt = this.tryAcquireOrRenew();
    if (!this.leader) return attempt;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, this.lastRenew + this.opts.renewDeadlineMs - Date.now()));
    });
    try {
      return await Promise.race([attempt, deadline]);
    } finally {
      clearTimeout(timer);
      // A late failure of the abandoned attempt is of no interest any more.
      attempt.catch(() => undefined);
    }
  }

  private leaseName(): string {
    return keyString(this.opts);
  }

  private async setLeader(value: boolean): Promise<void> {
    if (this.leader === value) return;
    this.leader = value;
    this.opts.log.info({ lease: this.leaseName(), identity: this.opts.identity }, value ? "became leader" : "stopped leading");
    if (value) await this.opts.onStartedLeading();
    else await this.opts.onStoppedLeading();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private durationSeconds(): number {
    return Math.max(1, Math.ceil(this.opts.leaseDurationMs / 1000));
  }

  /** True when this instance holds the lease after the attempt. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = new V1MicroTime();
    const lease = await this.readLease();
    if (!lease) {
      try {
        await this.writeLease("create", {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: this.durationSeconds(),
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        return true;
      } catch (err) {
        // Another candidate created it first; try again next round.
        if (isConflict(err)) return false;
        throw err;
      }
    }

    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, String(spec.renewTime), spec.leaseDurationSeconds]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = Date.now();
    }
    const holder = spec.holderIdentity;
    const durationMs = (spec.leaseDurationSeconds ?? this.durationSeconds()) * 1000;
    const expired = !holder || Date.now() > this.observedAt + durationMs;
    if (holder && holder !== identity && !expired) return false;

    const takingOver = holder !== identity;
    const updated: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: this.durationSeconds(),
        renewTime: now,
        acquireTime: takingOver ? now : spec.acquireTime,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
      },
    };
    try {
      await this.writeLease("update", updated);
      return true;
    } catch (err) {
      // Someone else updated the lease between our read and write.
      if (isConflict(err)) return false;
      throw err;
    }
  }

  private async release(): Promise<void> {
    try {
      const lease = await this.readLease();
      if (!lease || lease.spec?.holderIdentity !== this.opts.identity) return;
      const spec = { ...lease.spec, leaseDurationSeconds: 1, renewTime: new V1MicroTime() };
      delete spec.holderIdentity;
      await this.writeLease("update", { ...lease, spec });
      this.opts.log.info({ lease: this.leaseName() }, "released leader lease");
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message, lease: this.leaseName() }, "could not release the leader lease; successors wait for it to expire");
    }
  }

  private async readLease(): Promise<V1Lease | undefined> {
    const { namespace, name } = this.opts;
    try {
      return await this.opts.requester.call(`reading Lease ${this.leaseName()}`, () => this.leases.readNamespacedLease({ namespace, name }), {
        verb: "get",
        resource: "Lease",
        write: false,
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async writeLease(verb: "create" | "update", lease: V1Lease): Promise<V1Lease> {
    const { namespace, name } = this.opts;
    return this.opts.requester.call(
      `${verb === "create" ? "creating" : "updating"} Lease ${this.leaseName()}`,
      () =>
        verb === "create"
          ? this.leases.createNamespacedLease({ namespace, body: lease })
          : this.leases.replaceNamespacedLease({ namespace, name, body: lease }),
      { verb, resource: "Lease", write: true },
    );
  }
}
