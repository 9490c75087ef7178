import "server-only";
import pg from "pg";
import { componentLogger } from "@/lib/log";
import { backoffDelay } from "@/lib/kube/backoff";

const log = componentLogger("deploy-change-feed");

/** The channel the database triggers notify on (see the deploy_change_notifications migration). */
export const DEPLOY_CHANGES_CHANNEL = "pagoda_deploy_changed";

export interface DeployChangeFeedOptions {
  connectionString: string;
  /** A site's deploys or its target changed, in a committed transaction of any process. */
  onChange: (siteId: string) => void;
  /**
   * Called after every (re)connect, once listening. Notifications sent while
   * the connection was down are lost, so the caller should re-read what it
   * follows.
   */
  onListening: () => void;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/**
 * Follows deploy changes through Postgres LISTEN on one dedicated connection,
 * reconnecting with capped exponential backoff for as long as it runs. The
 * pool Prisma uses cannot carry it: a LISTEN belongs to one session.
 */
export class DeployChangeFeed {
  private client: pg.Client | null = null;
  private stopped = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(private readonly opts: DeployChangeFeedOptions) {
    this.baseMs = opts.backoffBaseMs ?? 500;
    this.maxMs = opts.backoffMaxMs ?? 30_000;
  }

  start(): void {
    void this.connect();
  }

  /** True while a connection is listening. */
  listening(): boolean {
    return this.client !== null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch((error: unknown) => log.warn({ err: error }, "closing the deploy change feed failed"));
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.opts.connectionString, application_name: "pagoda-deploy-changes" });
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = null;
      client.end().catch(() => {
        // The connection is already broken; the error that broke it is logged below.
      });
      if (this.stopped) return;
      this.failures += 1;
      const delay = backoffDelay(this.failures, { baseMs: this.baseMs, maxMs: this.maxMs });
      log.warn({ err: error, failures: this.failures, retryInMs: delay }, "deploy change feed lost its connection");
      this.retryTimer = setTimeout(() => void this.connect(), delay);
      this.retryTimer.unref();
    };
    client.on("notification", (message) => {
      if (message.channel === DEPLOY_CHANGES_CHANNEL && message.payload) this.opts.onChange(message.payload);
    });
    client.on("error", (error) => onLost(error));
    client.on("end", () => onLost(new Error("connection ended")));
    try {
      await client.connect();
      await client.query(`LISTEN ${DEPLOY_CHANGES_CHANNEL}`);
    } catch (error) {
      onLost(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.stopped || lost) {
      if (!lost) await client.end();
      return;
    }
    this.client = client;
    if (this.failures > 0) log.info({ failures: this.failures }, "deploy change feed reconnected");
    this.failures = 0;
    this.opts.onListening();
  }
}
