/** The facts of a site's status the card shows (lib/publishing/live-status.ts). */
export interface StatusFacts {
  message: string;
  readyReplicas: number;
  replicas: number;
  currentDigest: string | null;
}

/** "sha256:" and the first 12 hex digits, as the operator and the history write a digest. */
export function shortDigest(digest: string): string {
  return `sha256:${digest.replace(/^sha256:/, "").slice(0, 12)}`;
}

/**
 * What is serving, when the status message does not already say it. The
 * message is the one sentence about the site ("1 of 1 replicas serving
 * sha256:…", "Rolling out …"); while a new deploy is pending, rolling out or
 * failed, it is about that deploy, and the version still answering requests
 * is worth its own line. Null when the message names it, or nothing serves.
 */
export function servingNote(status: StatusFacts): string | null {
  if (!status.currentDigest || status.readyReplicas === 0) return null;
  const digest = shortDigest(status.currentDigest);
  if (status.message.includes(digest)) return null;
  return `${digest} keeps serving on ${status.readyReplicas} of ${status.replicas} replicas.`;
}
