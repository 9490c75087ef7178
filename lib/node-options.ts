/**
 * V8 options every dashboard process runs with (npm start, the browser
 * suite, the container image, and the upload benchmark, which must measure
 * the pipeline the way it runs).
 *
 * V8 sizes the young generation from the machine's memory: on a host with
 * tens of GiB it lets each semi-space grow to 32 MiB, so 64 MiB of RSS goes
 * to short-lived objects alone, and an upload of ten thousand files churns
 * through enough of them to grow it all the way. At 16 MiB the upload
 * benchmark shows no cost in time and a peak about 20–30 MiB lower.
 */
export const DASHBOARD_NODE_OPTIONS = "--max-semi-space-size=16";

/** NODE_OPTIONS for a dashboard child: ours first, so anything the caller set still wins. */
export function dashboardNodeOptions(callerOptions: string | undefined): string {
  return [DASHBOARD_NODE_OPTIONS, callerOptions ?? ""].join(" ").trim();
}
