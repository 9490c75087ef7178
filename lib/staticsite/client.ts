// Reading StaticSites from the API server, the same way for the operator and
// the dashboard: where the collection is, and the one list function, which
// reads page by page so that a cluster with thousands of sites is never one
// response held whole in memory on either end.
import { CustomObjectsApi } from "@kubernetes/client-node";
import type { KubeRequester } from "@/lib/kube/request";
import { STATICSITE_GROUP, STATICSITE_KIND, STATICSITE_PLURAL, STATICSITE_VERSION, type StaticSite } from "./types";

/** What CustomObjectsApi needs to name the StaticSite resource. */
export const STATICSITE_COORDS = { group: STATICSITE_GROUP, version: STATICSITE_VERSION, plural: STATICSITE_PLURAL } as const;

/** Collection path of StaticSites in all namespaces, for watches. */
export const STATICSITES_PATH = `/apis/${STATICSITE_GROUP}/${STATICSITE_VERSION}/${STATICSITE_PLURAL}`;

/** Objects per page; the API server's own advice for large lists is a few hundred. */
export const STATICSITE_PAGE_SIZE = 500;

export interface StaticSiteList {
  items: StaticSite[];
  /** Snapshot the list was read at; a watch from here misses nothing. */
  resourceVersion: string;
}

/** A list as the API server sends it; the custom-objects client does not rename `continue`. */
interface RawList {
  items?: StaticSite[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export interface ListStaticSitesOptions {
  labelSelector?: string | undefined;
  pageSize?: number;
}

/**
 * Every StaticSite (matching `labelSelector`) in all namespaces, read page by
 * page with continue tokens from one snapshot (the first page's resourceVersion).
 */
export async function listStaticSites(requester: KubeRequester, opts: ListStaticSitesOptions = {}): Promise<StaticSiteList> {
  const custom = requester.client(CustomObjectsApi);
  const { labelSelector } = opts;
  const items: StaticSite[] = [];
  let continueToken: string | undefined;
  let resourceVersion = "";
  do {
    const page = (await requester.call(
      labelSelector ? `listing StaticSites (${labelSelector})` : "listing StaticSites",
      () =>
        custom.listClusterCustomObject({
          ...STATICSITE_COORDS,
          ...(labelSelector ? { labelSelector } : {}),
          limit: opts.pageSize ?? STATICSITE_PAGE_SIZE,
          ...(continueToken ? { _continue: continueToken } : {}),
        }),
      { verb: "list", resource: STATICSITE_KIND, write: false },
    )) as RawList;
    items.push(...(page.items ?? []));
    // Every page carries the snapshot's resourceVersion.
    resourceVersion ||= page.metadata?.resourceVersion ?? "";
    continueToken = page.metadata?.continue || undefined;
  } while (continueToken);
  return { items, resourceVersion };
}
