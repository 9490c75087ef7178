// One piece of work that runs one at a time: kicks that arrive while it
// runs coalesce into a single run after it (which reads the newest state, so
// nothing is lost), and a run that fails, by throwing or by reporting what is
// left to do, runs again after the runtime's backoff. The agent's applies and
// the mirror's downloads are both this.
import { backoffDelay, type BackoffPolicy } from "@/lib/kube/backoff";

/** What a run reports: all done, or something to try again later (a fetch that failed). */
export type RunOutcome = "done" | "retry";

export class SerialRunner {
  private running: Promise<void> | undefined;
  private again = false;
  private failed = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<RunOutcome>,
    private readonly policy: BackoffPolicy,
    /** Told of a run that threw; the runner then retries after the backoff. */
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Runs now, or once more after the run under way. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.retryTimer);
    this.running = (async () => {
      try {
        let outcome: RunOutcome;
        do {
          this.again = false;
          outcome = await this.run();
        } while (this.again && !this.stopped);
        if (outcome === "retry") this.retryLater();
        else this.failed = 0;
      } finally {
        this.running = undefined;
      }
    })();
    this.running.catch((error: unknown) => {
      this.onError(error);
      this.retryLater();
    });
  }

  /** Failed runs since the last one that was done: 0 when nothing waits for a retry. */
  get failures(): number {
    return this.failed;
  }

  /** Resolves once no run is under way (a retry may still be scheduled). */
  async settled(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** No run starts after this; the one under way finishes, and `settled` waits for it. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  private retryLater(): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.kick(), backoffDelay(++this.failed, this.policy));
    this.retryTimer.unref();
  }
}
