/**
 * `npm run bench:password-reset`: how long "Forgot password?" takes to answer
 * for an address with an account and for one without, side by side in one
 * run, through the real route handler on a throw-away Postgres and Mailpit.
 * The third column is the design this avoids: answering only once the email
 * has been handed to the SMTP server, which makes a known address slower.
 * Requests alternate between the three, so drift hits them alike. A
 * measurement, not a test: it asserts nothing about time.
 *
 *   npm run bench:password-reset -- [--requests 200]
 */
import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ensurePostgres } from "@/scripts/postgres";
import { deployMigrations } from "@/scripts/db/migrate";
import { findFreePort } from "@/scripts/lib/free-port";
import { startMailpit } from "@/scripts/mail/mailpit";

const { values } = parseArgs({ options: { requests: { type: "string", default: "200" } } });
const REQUESTS = Number(values.requests);

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? NaN;
const ms = (x: number) => x.toFixed(2).padStart(8);

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-bench-reset-"));
  await chmod(dir, 0o755);
  const postgres = await ensurePostgres({ dataDir: path.join(dir, "pg"), port: await findFreePort(), ephemeral: true });
  const mailpit = await startMailpit();
  try {
    await deployMigrations({ databaseUrl: postgres.url });
    Object.assign(process.env, {
      DATABASE_URL: postgres.url,
      NEXTAUTH_SECRET: randomBytes(32).toString("base64url"),
      PAGODA_ARTIFACT_SECRET: randomBytes(32).toString("base64url"),
      PAGODA_SMTP_URL: mailpit.smtpUrl,
      // The limits would otherwise be what this measures.
      PAGODA_PASSWORD_RESETS_PER_EMAIL: String(REQUESTS * 4),
      PAGODA_PASSWORD_RESETS_PER_IP: String(REQUESTS * 4),
      LOG_LEVEL: "warn",
    });
    const { NextRequest } = await import("next/server");
    const { signUp } = await import("@/lib/accounts/signup");
    const { requestPasswordReset } = await import("@/lib/accounts/password-reset");
    const route = await import("@/app/api/account/password-reset/route");
    const known = "known@example.com";
    await signUp({ name: "Known", email: known, password: "a long and varied passphrase" }, null);

    const token = randomBytes(32).toString("hex");
    const hash = createHash("sha256").update(`${token}${process.env.NEXTAUTH_SECRET}`).digest("hex");
    const headers = {
      cookie: `next-auth.csrf-token=${token}%7C${hash}`,
      "x-csrf-token": token,
      "content-type": "application/json",
      "x-forwarded-for": "198.51.100.7",
    };
    const ask = async (email: string): Promise<number> => {
      const start = performance.now();
      const response = await route.POST(
        new NextRequest("http://localhost:3000/api/account/password-reset", { method: "POST", headers, body: JSON.stringify({ email }) }),
      );
      await response.text();
      if (response.status !== 202) throw new Error(`unexpected ${response.status}`);
      return performance.now() - start;
    };
    const askAndWait = async (email: string): Promise<number> => {
      const start = performance.now();
      await (
        await requestPasswordReset({ email }, "198.51.100.8")
      ).delivery;
      return performance.now() - start;
    };

    const times = { known: [] as number[], unknown: [] as number[], awaited: [] as number[] };
    for (let i = 0; i < 10; i += 1) await ask(known); // warm-up: connections, JIT
    // The order turns every round, so neither column always follows another's background email.
    const round: (() => Promise<void>)[] = [
      async () => void times.known.push(await ask(known)),
      async () => void times.unknown.push(await ask(`nobody-${randomBytes(6).toString("hex")}@example.com`)),
      async () => void times.awaited.push(await askAndWait(known)),
    ];
    for (let i = 0; i < REQUESTS; i += 1) {
      for (let j = 0; j < round.length; j += 1) await round[(i + j) % round.length]!();
    }
    console.log(`\nPOST /api/account/password-reset, ${REQUESTS} requests each (ms until the answer)\n`);
    console.log(`${"".padEnd(8)}${"unknown".padStart(10)}${"known".padStart(10)}${"known, answer after SMTP".padStart(27)}`);
    for (const [label, q] of [
      ["p10", 0.1],
      ["median", 0.5],
      ["p90", 0.9],
    ] as const) {
      console.log(
        `${label.padEnd(8)}${ms(quantile(times.unknown, q)).padStart(10)}${ms(quantile(times.known, q)).padStart(10)}${ms(quantile(times.awaited, q)).padStart(27)}`,
      );
    }
  } finally {
    // The dashboard's pools would report the server going away as an error.
    const { db } = await import("@/lib/db");
    await db().$disconnect();
    const { processSingleton } = await import("@/lib/process-singleton");
    await processSingleton<{ end(): Promise<void> } | null>("rateLimitPool", () => null)?.end();
    await mailpit.stop();
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
  // The mail transport's pool keeps the event loop alive; this is the end.
  process.exit(0);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
