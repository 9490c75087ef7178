import "server-only";
import { componentLogger } from "@/lib/log";
import type { SiteRef } from "@/lib/publishing/rollout-tracker";

const log = componentLogger("rollout-tracker");

/** Past this many sites waiting at once, one pass over every site is cheaper than a long OR. */
export const MAX_BATCH = 200;

export type CheckSites = (sites: SiteRef[] | "all") => Promise<unknown>;

export interface SiteCheckQueueOptions {
  /**
   * Least time from the start of one pass to the start of the next. A
   * change after a quiet spell is checked at once; during a burst (hundreds
   * of rollouts finishing) what arrives within the gap is merged into one
   * pass instead of a pass per report.
   */
  minGapMs?: number;
}

/**
 * Runs checks of the sites something said changed, one pass at a time:
 * requests that arrive during a pass, or within the gap after one started,
 * are merged into the next one, so a burst of changes costs a few queries,
 * and two passes never race on the same site (which could replay an old
 * state to the browsers).
 */
export class SiteCheckQueue {
  private pending = new Map<string, SiteRef>();
  private everything = false;
  private running: Promise<void> | null = null;
  private lastStart = -Infinity;
  private readonly minGapMs: number;

  constructor(
    private readonly checkSites: CheckSites,
    options: SiteCheckQueueOptions = {},
  ) {
    this.minGapMs = options.minGapMs ?? 0;
  }

  /** Looks at `site` soon. */
  check(site: SiteRef): void {
    this.pending.set("siteId" in site ? `id:${site.siteId}` : `name:${site.tenantSlug}/${site.name}`, site);
    this.kick();
  }

  /** Looks at every promoted site soon. */
  checkAll(): void {
    this.everything = true;
    this.kick();
  }

  /** Resolves once nothing is waiting or running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    this.running ??= this.drain().finally(() => {
      this.running = null;
      // A request can land between the last pass and this callback.
      if (this.everything || this.pending.size > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.everything || this.pending.size > 0) {
      const wait = this.lastStart + this.minGapMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastStart = performance.now();
      const sites = this.everything || this.pending.size > MAX_BATCH ? "all" : [...this.pending.values()];
      this.everything = false;
      this.pending = new Map();
      try {
        await this.checkSites(sites);
      } catch (error) {
        log.error({ err: error, sites: sites === "all" ? "all" : sites.length }, "tracking rollouts failed");
      }
    }
  }
}
