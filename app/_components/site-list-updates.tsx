"use client";

import { useRouter } from "next/navigation";
import { useEffect, useRef } from "react";

/** At most one reload of the list per this many ms, however many sites change. */
const REFRESH_EVERY_MS = 1_000;

/**
 * Keeps the site list's badges current: reloads the server-rendered list when
 * the workspace's event stream says one of the sites on this page changed in
 * the cluster. Changes of sites on other pages are not shown here, so they
 * cost no reload (a workspace rolling out hundreds of sites would otherwise
 * reload every open list once a second).
 */
export function SiteListUpdates({ tenant, sites }: { tenant: string; sites: readonly string[] }) {
  const router = useRouter();
  // Read by the one stream, which outlives the renders that change the page's rows.
  const shown = useRef(new Set(sites));
  useEffect(() => {
    shown.current = new Set(sites);
  }, [sites]);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    const refresh = () => {
      last = Date.now();
      timer = undefined;
      router.refresh();
    };
    const source = new EventSource(`/api/tenants/${tenant}/events`);
    source.addEventListener("site", (event) => {
      const site = siteOf(event);
      if (timer || site === undefined || !shown.current.has(site)) return;
      timer = setTimeout(refresh, Math.max(0, last + REFRESH_EVERY_MS - Date.now()));
    });
    return () => {
      source.close();
      if (timer) clearTimeout(timer);
    };
  }, [tenant, router]);
  return null;
}

/** The site an event names; an event this page cannot read names none. */
function siteOf(event: MessageEvent): string | undefined {
  try {
    const data = JSON.parse(String(event.data)) as { name?: unknown };
    return typeof data.name === "string" ? data.name : undefined;
  } catch {
    return undefined;
  }
}
