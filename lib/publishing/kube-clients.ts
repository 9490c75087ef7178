// The typed clients of one KubeConfig, made once per KubeConfig, each request
// bounded by the dashboard's deadline (lib/kube/request.ts).
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { KubeRequester } from "@/lib/kube/request";
import { STATICSITE_GROUP, STATICSITE_PLURAL, STATICSITE_VERSION, type StaticSite } from "@/lib/staticsite/types";
import { kubeRequest } from "./errors";
import { dashboardRequestTimeoutMs } from "./request-timeout";

export interface DashboardApis {
  core: CoreV1Api;
  custom: CustomObjectsApi;
}

const apis = new WeakMap<KubeConfig, DashboardApis>();

export function apisFor(kc: KubeConfig): DashboardApis {
  let found = apis.get(kc);
  if (!found) {
    const { configuration } = new KubeRequester(kc, { requestTimeoutMs: dashboardRequestTimeoutMs(), userAgent: "pagoda-dashboard" });
    found = { core: new CoreV1Api(configuration), custom: new CustomObjectsApi(configuration) };
    apis.set(kc, found);
  }
  return found;
}

export const STATICSITE_COORDS = { group: STATICSITE_GROUP, version: STATICSITE_VERSION, plural: STATICSITE_PLURAL } as const;

/** Collection path of StaticSites in all namespaces, for watches. */
export const STATICSITES_PATH = `/apis/${STATICSITE_GROUP}/${STATICSITE_VERSION}/${STATICSITE_PLURAL}`;

export interface StaticSiteList {
  items: StaticSite[];
  /** Snapshot the list was read at; a watch from here misses nothing. */
  resourceVersion: string;
}

const PAGE_SIZE = 500;

/** Every StaticSite matching `labelSelector` in all namespaces, read page by page from one snapshot. */
export async function listStaticSites(kc: KubeConfig, labelSelector: string): Promise<StaticSiteList> {
  const { custom } = apisFor(kc);
  const items: StaticSite[] = [];
  let continueToken: string | undefined;
  let resourceVersion = "";
  do {
    const page = (await kubeRequest(`listing StaticSites (${labelSelector})`, () =>
      custom.listClusterCustomObject({
        ...STATICSITE_COORDS,
        labelSelector,
        limit: PAGE_SIZE,
        ...(continueToken ? { _continue: continueToken } : {}),
      }),
    )) as { items?: StaticSite[]; metadata?: { resourceVersion?: string; continue?: string } };
    items.push(...(page.items ?? []));
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    continueToken = page.metadata?.continue || undefined;
  } while (continueToken);
  return { items, resourceVersion };
}
