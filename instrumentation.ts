/**
 * Runs once when the dashboard server starts: a bad configuration stops the
 * process here, with the variable named, instead of on the first request.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { getConfig, ConfigError } = await import("@/lib/config");
  const { logger } = await import("@/lib/log");
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
