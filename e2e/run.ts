/**
 * Runs the Playwright suite against real parts: a throw-away Postgres,
 * migrated, with fresh secrets; the dashboard itself is started by
 * playwright.config.ts. Arguments are passed on to `playwright test`.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { deployMigrations } from "@/scripts/db/migrate";
import { ensurePostgres, findFreePort } from "@/scripts/postgres";

async function main(): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "pagoda-e2e-"));
  await chmod(dir, 0o755);
  const postgres = await ensurePostgres({ dataDir: path.join(dir, "pg"), port: await findFreePort(), ephemeral: true });
  try {
    await deployMigrations({ databaseUrl: postgres.url });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: postgres.url,
      NEXTAUTH_SECRET: randomBytes(32).toString("base64url"),
      PAGODA_ARTIFACT_SECRET: randomBytes(32).toString("base64url"),
      PAGODA_DATA_DIR: path.join(dir, "data"),
      // Every test signs up from 127.0.0.1; the per-IP sign-up limit would
      // otherwise be the first thing the suite measures. Per-email limits stay.
      PAGODA_SIGNUPS_PER_IP: "1000",
      PAGODA_SIGNIN_ATTEMPTS_PER_IP: "1000",
    };
    const child = spawn("node_modules/.bin/playwright", ["test", ...process.argv.slice(2)], { env, stdio: "inherit" });
    return await new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
