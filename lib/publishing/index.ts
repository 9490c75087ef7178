// The dashboard's access to the cluster: for route handlers, server actions
// and instrumentation; "server-only" fails the build of a client component that imports it.
import "server-only";
export { clusterConfigured, clusterConnection, dashboardKubeConfig, loadClusterConnection, type ClusterConnection } from "./connection";
export { ClusterNotConfiguredError, InvalidSiteError, TerminatingError } from "./errors";
// A failed request to the API server; lib/http maps it.
export { KubeApiError, type FieldProblem } from "@/lib/kube/request";
export {
  applyStaticSite,
  DASHBOARD_SITE_SELECTOR,
  deleteStaticSite,
  desiredStaticSite,
  ensureTenantNamespace,
  LABEL_SITE_ID,
  publishSite,
  type DesiredSite,
  type WriteResult,
} from "./static-sites";
export { desiredTenantPolicy, TENANT_POLICY_NAME, type TenantPolicySettings } from "./tenant-policy";
export { restoreSites, type RestoreError, type RestoreOptions, type RestoreResult } from "./restore";
export { sitePhase, type SitePhase, type SitePhaseName } from "./site-phase";
export {
  getStatusHub,
  StatusHub,
  type AnySiteListener,
  type HealthListener,
  type NamespaceListener,
  type SiteListener,
  type StatusHubOptions,
  type StatusHubStats,
} from "./status-hub";
export { followSiteStatus, type ExpectedDigest, type PhaseEvent, type SiteStatusEvent, type SiteStatusOptions } from "./status-stream";
