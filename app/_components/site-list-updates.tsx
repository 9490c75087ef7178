"use client";

import { useRouter } from "next/navigation";
import { useEffect } from "react";

/** At most one reload of the list per this many ms, however many sites change. */
const REFRESH_EVERY_MS = 1_000;

/**
 * Keeps the site list's badges current: reloads the server-rendered list when
 * the workspace's event stream says one of its sites changed in the cluster.
 */
export function SiteListUpdates({ tenant }: { tenant: string }) {
  const router = useRouter();
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    const refresh = () => {
      last = Date.now();
      timer = undefined;
      router.refresh();
    };
    const source = new EventSource(`/api/tenants/${tenant}/events`);
    source.addEventListener("site", () => {
      if (timer) return;
      timer = setTimeout(refresh, Math.max(0, last + REFRESH_EVERY_MS - Date.now()));
    });
    return () => {
      source.close();
      if (timer) clearTimeout(timer);
    };
  }, [tenant, router]);
  return null;
}
