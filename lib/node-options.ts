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

/**
 * V8 options of the operator process, wherever it runs: npm run operator,
 * npm start, the browser suite, the container image (deploy/image/entrypoint.sh
 * repeats them; a test keeps the two equal) and the operator benchmark.
 *
 * The operator's live data is small (its caches of a few thousand trimmed
 * objects take tens of MB), but its garbage is not: every watch event and
 * every API answer is a fresh parsed object. With V8's defaults on a host
 * with tens of GiB, the young generation grows to 128 MiB and the old one
 * to several times the live data before a full collection, so with 500 sites
 * the resident set reached 330 MB (200 MB with --max-semi-space-size=8 alone).
 * --optimize-for-size keeps the young generation at 2 MiB and collects the
 * old one sooner: the peak fell to 133-142 MB for about 6% more CPU time and
 * no longer wall time (the figures are in docs/operator.md).
 */
export const OPERATOR_NODE_OPTIONS = "--optimize-for-size";

/**
 * Environment of the operator process, set wherever it starts (the launcher
 * in scripts/operator-build.ts, the container image's entrypoint).
 *
 * glibc gives each thread that allocates its own malloc arena (up to eight
 * per core), and freed memory stays in the arena it came from: the
 * operator's native allocations (TLS and HTTP/2 buffers, libuv's and V8's
 * worker threads) then keep several partly empty arenas resident. Two
 * arenas held the 500-site benchmark's peak at 114 MB against 121–131 MB
 * in the runs around it, for no measurable CPU (docs/operator.md).
 */
export const OPERATOR_ENV = { MALLOC_ARENA_MAX: "2" } as const;
