import "server-only";
import { createHash } from "node:crypto";
import { Pool } from "pg";
import { RateLimiterPostgres, RateLimiterRes } from "rate-limiter-flexible";
import { getConfig } from "@/lib/config";
import { processSingleton } from "@/lib/process-singleton";

/**
 * Attempt counters for sign-in, sign-up and the emails anyone can trigger, kept in Postgres so that every
 * dashboard process shares them. The table is created by a migration.
 */

type LimiterName =
  | "signInIp"
  | "signInEmail"
  | "signUpIp"
  | "apiToken"
  | "resetIp"
  | "resetEmail"
  | "verifyEmailUser"
  | "deployFailureNoticeSite"
  | "inviteTenant"
  | "inviteUser";

/** At most one deploy-failure notice per site in this window (lib/deploys/failure-notice.ts). */
export const DEPLOY_FAILURE_NOTICE_WINDOW_SECONDS = 5 * 60;

// Defaults are generous enough for a person who mistypes and tight enough to
// stop guessing; the counts are configurable, the windows are not.
function rule(name: LimiterName): { points: number; duration: number } {
  const config = getConfig();
  switch (name) {
    case "signInIp":
      return { points: config.PAGODA_SIGNIN_ATTEMPTS_PER_IP, duration: 15 * 60 };
    case "signInEmail":
      return { points: config.PAGODA_SIGNIN_ATTEMPTS_PER_EMAIL, duration: 15 * 60 };
    case "signUpIp":
      return { points: config.PAGODA_SIGNUPS_PER_IP, duration: 60 * 60 };
    case "apiToken":
      return { points: config.PAGODA_API_TOKEN_REQUESTS_PER_MINUTE, duration: 60 };
    case "resetIp":
      return { points: config.PAGODA_PASSWORD_RESETS_PER_IP, duration: 60 * 60 };
    case "resetEmail":
      return { points: config.PAGODA_PASSWORD_RESETS_PER_EMAIL, duration: 60 * 60 };
    case "verifyEmailUser":
      return { points: config.PAGODA_VERIFICATION_EMAILS_PER_USER, duration: 60 * 60 };
    // Invitations are sent only by owners, so a fixed bound is enough to stop a workspace being used to mail strangers.
    case "inviteTenant":
    case "inviteUser":
      return { points: INVITATIONS_PER_HOUR, duration: 60 * 60 };
    // A site whose rollouts keep failing mails its deployer once in a while, not once per attempt.
    case "deployFailureNoticeSite":
      return { points: 1, duration: DEPLOY_FAILURE_NOTICE_WINDOW_SECONDS };
  }
}

/** Invitations an hour, per workspace and per inviter. */
const INVITATIONS_PER_HOUR = 20;

/** The key of the process's limiter objects; the counts themselves are in Postgres. */
export const LIMITERS_KEY = "rateLimiters";

function limiter(name: LimiterName): RateLimiterPostgres {
  const pool = processSingleton("rateLimitPool", () => new Pool({ connectionString: getConfig().DATABASE_URL, max: 4 }));
  const limiters = processSingleton(LIMITERS_KEY, () => new Map<LimiterName, RateLimiterPostgres>());
  let instance = limiters.get(name);
  if (!instance) {
    instance = new RateLimiterPostgres({
      storeClient: pool,
      storeType: "pool",
      tableName: "rate_limits",
      tableCreated: true,
      keyPrefix: name,
      ...rule(name),
    });
    limiters.set(name, instance);
  }
  return instance;
}

export class RateLimitedError extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    message?: string,
  ) {
    const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
    super(message ?? `Too many attempts. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`);
    this.name = "RateLimitedError";
  }
}

/** Counts one attempt against every given key; throws RateLimitedError when any is exhausted. */
export async function consumeAttempt(keys: Partial<Record<LimiterName, string>>): Promise<void> {
  let retryAfter = 0;
  for (const [name, key] of Object.entries(keys) as [LimiterName, string][]) {
    try {
      await limiter(name).consume(storedKey(key));
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        retryAfter = Math.max(retryAfter, Math.ceil(error.msBeforeNext / 1000));
        continue;
      }
      throw error;
    }
  }
  if (retryAfter > 0) throw new RateLimitedError(retryAfter);
}

/**
 * Counts one request made with an API token (keyed by its id, so the count
 * follows the token whichever address it is used from).
 */
export async function consumeTokenRequest(tokenId: string): Promise<void> {
  try {
    await limiter("apiToken").consume(storedKey(tokenId));
  } catch (error) {
    if (!(error instanceof RateLimiterRes)) throw error;
    const seconds = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
    throw new RateLimitedError(
      seconds,
      `This API token has made more than ${rule("apiToken").points} requests in a minute. Try again in ${seconds} second${seconds === 1 ? "" : "s"}.`,
    );
  }
}

/** A successful sign-in forgives the earlier mistakes made for that email. */
export async function resetAttempts(name: LimiterName, key: string): Promise<void> {
  await limiter(name).delete(storedKey(key));
}

/** Longest key kept as it is: the stored one (`<limiter>:<key>`) must fit rate_limits.key (320). */
const KEY_MAX = 280;

/**
 * Emails are bounded by validation, but a client address comes from
 * X-Forwarded-For, which a client without a proxy in front can make as long
 * as it likes: longer keys are counted under their digest.
 */
function storedKey(key: string): string {
  return key.length <= KEY_MAX ? key : `sha256:${createHash("sha256").update(key).digest("hex")}`;
}

/**
 * The client address for per-IP limits. The right-most X-Forwarded-For entry
 * is the one added by the nearest hop (the ingress, or the Next server itself
 * from the socket), which a client cannot choose when a proxy is in front.
 */
export function clientIp(headers: Headers): string {
  const forwarded = headers.get("x-forwarded-for");
  const last = forwarded
    ?.split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .at(-1);
  return last ?? headers.get("x-real-ip") ?? "unknown";
}
