/**
 * Runs once when the dashboard server starts: a bad configuration stops the
 * process here, with the variable named, instead of on the first request.
 * The Node-only module is imported behind the runtime check so that the
 * edge bundle never sees it.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { checkConfigurationOrExit, startBackgroundWork } = await import("@/lib/startup");
    checkConfigurationOrExit();
    await startBackgroundWork();
  }
}
