import "server-only";
import { ConfigError, getConfig } from "@/lib/config";
import { logger } from "@/lib/log";

/** Checks the configuration once at server start and stops the process, naming the variable, when it is wrong. */
export function checkConfigurationOrExit(): void {
  try {
    getConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal({ issues: error.issues }, error.message);
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

/** Starts the dashboard's background work: artifact collection, deploy-failure notices, and the cluster's when one is configured. */
export async function startBackgroundWork(): Promise<void> {
  const { sweepUploadTempDirs } = await import("@/lib/deploys/admission");
  await sweepUploadTempDirs();
  const { startArtifactCollector } = await import("@/lib/artifacts/gc");
  startArtifactCollector();
  // Listening before the rollouts are followed, so no failure goes by unheard.
  const { startDeployFailureNotices } = await import("@/lib/deploys/failure-notice");
  startDeployFailureNotices();
  const { startClusterSync } = await import("@/lib/publishing/sync");
  startClusterSync();
  // Domain checks need no cluster; what they verify is published once one answers.
  const { startDomainVerification } = await import("@/lib/domains/verify");
  startDomainVerification();
}
