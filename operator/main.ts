// Entry point: `npm run operator`. Validates configuration, runs the operator
// until SIGTERM/SIGINT, then shuts down gracefully (releasing the lease so a
// successor takes over at once).
import { componentLogger } from "@/lib/log";
import { ConfigError, loadConfig } from "./config";
import { readFileSync } from "node:fs";
import { startOperator } from "./controller";

const log = componentLogger("operator");

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, readOptional);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  log.info(
    { identity: config.identity, leaderElection: config.leaderElection, lease: `${config.leaseNamespace}/${config.leaseName}`, port: config.port },
    "starting operator",
  );
  const operator = await startOperator(config, { defaultMetrics: true });
  log.info({ port: operator.port }, "operator running");

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, "shutting down");
    // A shutdown that hangs must not keep the pod in Terminating forever.
    const force = setTimeout(() => {
      log.error("shutdown took too long; exiting");
      process.exit(1);
    }, 20_000);
    force.unref();
    operator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  log.fatal({ err }, "operator failed to start");
  process.exit(1);
});
