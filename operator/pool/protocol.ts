// What the operator and a serving pool's agent say to each other (docs/serving.md).
//
// The operator is the only writer: it sends every pool replica the whole
// desired map (not deltas), so a replica that missed a message, restarted or
// is new needs nothing but the next message to be right. Each replica answers
// with what it really serves; the operator derives the shared sites' status
// from those answers alone, never from what it asked for.
//
// Plain types and one parser per direction, so that the agent and the
// operator (two programs, two bundles) cannot read the same text two ways.
import { z } from "zod";
import {
  ARTIFACT_URL_MAX_LENGTH,
  ARTIFACT_URL_RE,
  DIGEST_RE,
  HOST_RE,
  HOSTS_MAX,
  NOT_FOUND_PAGE_RE,
  PREVIEWS_MAX,
  RULES_TEXT_MAX_LENGTH,
} from "@/lib/staticsite/schema";

/** Port of the agent's API inside a pool pod (nginx serves sites on 8080). */
export const AGENT_PORT = 8081;
/**
 * Port on which a pool pod hands out the tarballs of dedicated sites' deploys
 * (the mirror): their own pods fetch there first when they start, so a
 * restart needs neither the dashboard nor Postgres (docs/serving.md).
 */
export const MIRROR_PORT = 8084;
/** Path of a tarball on the mirror port. */
export function mirrorPath(digest: string): string {
  return `/v1/artifacts/sha256/${digest.slice("sha256:".length)}`;
}
/** Header carrying the pool's shared secret on every request to an agent. */
export const AGENT_TOKEN_HEADER = "x-pagoda-pool-token";
/** Longest a `GET /v1/state?after=` waits for a newer state before answering with the current one. */
export const STATE_WAIT_MAX_MS = 25_000;

export const poolSiteSchema = z.object({
  /** `<namespace>/<name>` of the StaticSite. */
  key: z.string().min(3).max(400),
  /**
   * Hosts this site answers on in the pool: the operator has already
   * arbitrated them (one host, one site). None: a dedicated site, whose own
   * pods serve it; the pool keeps its deploy's tarball for those pods (the
   * mirror) and serves its previews.
   */
  hosts: z.array(z.string().max(253).regex(HOST_RE)).max(64),
  digest: z.string().regex(DIGEST_RE),
  /** Where the artifact can be fetched when the replica's cache does not hold it. */
  url: z.string().max(ARTIFACT_URL_MAX_LENGTH).regex(ARTIFACT_URL_RE),
  spa: z.boolean(),
  notFoundPage: z.string().max(256).regex(NOT_FOUND_PAGE_RE).optional(),
  /** The site's `_redirects` and `_headers` text as in its spec; the agent parses it with the operator's parser. */
  rules: z.object({ redirects: z.string().max(RULES_TEXT_MAX_LENGTH).optional(), headers: z.string().max(RULES_TEXT_MAX_LENGTH).optional() }).optional(),
  /**
   * The site's recent deploys (spec.previews), each at its own preview host
   * (lib/staticsite/site-url.ts, previewHost). Served lazily: nothing is
   * fetched or unpacked for one until a request for its host arrives.
   */
  previews: z
    .array(
      z.object({
        host: z.string().max(253).regex(HOST_RE),
        digest: z.string().regex(DIGEST_RE),
        url: z.string().max(ARTIFACT_URL_MAX_LENGTH).regex(ARTIFACT_URL_RE),
      }),
    )
    .max(PREVIEWS_MAX * HOSTS_MAX)
    .optional(),
});
export type PoolSite = z.infer<typeof poolSiteSchema>;

export const poolDesiredSchema = z.object({
  /** Increases with every change of `sites`; a replica ignores a message older than the one it holds. */
  generation: z.int().min(1),
  sites: z.array(poolSiteSchema).max(100_000),
});
export type PoolDesired = z.infer<typeof poolDesiredSchema>;

export const servedSiteSchema = z.object({
  key: z.string(),
  /** The digest this replica's nginx serves for the site's hosts now; absent while it serves none. */
  digest: z.string().regex(DIGEST_RE).optional(),
  hosts: z.array(z.string()),
  /** Set while the wanted digest could not be made ready (the old one, if any, keeps serving). */
  error: z.object({ reason: z.enum(["ArtifactFetchFailed", "ArtifactInvalid", "ConfigInvalid"]), message: z.string().max(1024) }).optional(),
});
export type ServedSite = z.infer<typeof servedSiteSchema>;

export const poolStateSchema = z.object({
  /** Changes whenever anything below changes; the operator long-polls with `?after=<version>`. */
  version: z.int().min(0),
  /** Generation of the last desired map received (0: none yet). */
  desiredGeneration: z.int().min(0),
  /** Generation the running nginx configuration was built from. */
  appliedGeneration: z.int().min(0),
  sites: z.array(servedSiteSchema),
  cache: z.object({ entries: z.int().min(0), bytes: z.int().min(0) }),
});
export type PoolState = z.infer<typeof poolStateSchema>;

/** Environment of the agent in a pool pod; the operator's pod template and the agent's config both read these names. */
export const AGENT_ENV = {
  /** Shared secret the agent requires in AGENT_TOKEN_HEADER (from the pool's Secret). */
  token: "PAGODA_POOL_TOKEN",
  /** Verified artifacts (content-addressed tarballs) and the last desired map: may outlive the pod (a node directory). */
  storeDir: "PAGODA_POOL_STORE_DIR",
  /** Unpacked sites and the rendered nginx configuration: the pod's own (an emptyDir). */
  workDir: "PAGODA_POOL_WORK_DIR",
  /** Bytes of tarballs the store keeps before it evicts the least recently used that no site wants. */
  storeMaxBytes: "PAGODA_POOL_STORE_MAX_BYTES",
  /** The pod's name, for logs and for the operator to tell replicas apart. */
  podName: "PAGODA_POOL_POD_NAME",
} as const;
