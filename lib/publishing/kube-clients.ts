// The dashboard's requester for one KubeConfig, made once per KubeConfig:
// every request is bounded by the dashboard's deadline (request-timeout.ts)
// and its failure is lib/kube's KubeApiError.

import "server-only";
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeRequester } from "@/lib/kube/request";
import { dashboardRequestTimeoutMs } from "./request-timeout";

const requesters = new WeakMap<KubeConfig, KubeRequester>();

export function dashboardRequester(kc: KubeConfig): KubeRequester {
  let found = requesters.get(kc);
  if (!found) {
    found = new KubeRequester(kc, { requestTimeoutMs: dashboardRequestTimeoutMs(), userAgent: "pagoda-dashboard" });
    requesters.set(kc, found);
  }
  return found;
}
