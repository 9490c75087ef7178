// How long the dashboard waits for one answer from the API server. Without a
// deadline a hung connection holds an upload, a promotion or a delete (and the
// person waiting on it) for good; with one it becomes "cluster unavailable".

import "server-only";
import { getConfig } from "@/lib/config";

let override: number | undefined;

export function dashboardRequestTimeoutMs(): number {
  return override ?? getConfig().PAGODA_KUBE_REQUEST_TIMEOUT_SECONDS * 1000;
}

/** For tests that need a deadline shorter than a second; affects clients made afterwards. */
export function setDashboardRequestTimeoutMs(ms: number | undefined): void {
  override = ms;
}
