// The serving modes, on their own: the JSON API's contract (lib/api, which
// the CLI imports too) names them without pulling in the StaticSite schema.

/** How a site is served: its own nginx pods, or the shared pool (docs/serving.md). Absent from a StaticSite means dedicated, as before the pool existed. */
export const SERVING_MODES = ["dedicated", "shared"] as const;
export type ServingMode = (typeof SERVING_MODES)[number];
