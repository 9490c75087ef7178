"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { servingNote } from "@/app/_lib/site-status-text";
import { PhaseBadge, type PhaseName } from "./phase-badge";

interface LiveStatus {
  phase: PhaseName;
  message: string;
  readyReplicas: number;
  replicas: number;
  currentDigest: string | null;
}

/** The site's state in the cluster, kept current by server-sent events. */
export function SiteStatus({ tenant, site, url, initial }: { tenant: string; site: string; url: string; initial: LiveStatus }) {
  const router = useRouter();
  const [status, setStatus] = useState<LiveStatus>(initial);
  const [connected, setConnected] = useState(true);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    const source = new EventSource(`/api/tenants/${tenant}/sites/${site}/status`);
    source.addEventListener("phase", (event) => {
      const next = JSON.parse((event as MessageEvent<string>).data) as LiveStatus & { healthy: boolean };
      setStatus(next);
      setConnected(next.healthy || next.phase === "NoCluster");
    });
    source.addEventListener("health", (event) => setConnected((JSON.parse((event as MessageEvent<string>).data) as { healthy: boolean }).healthy));
    source.addEventListener("deploys", () => router.refresh());
    // EventSource reconnects by itself; say so while it does.
    source.onerror = () => setConnected(false);
    source.onopen = () => setConnected(true);
    return () => source.close();
  }, [tenant, site, router]);

  async function copy() {
    await navigator.clipboard.writeText(url);
    setCopied(true);
    setTimeout(() => setCopied(false), 2_000);
  }

  const serving = servingNote(status);

  return (
    <div className="space-y-3" data-testid="site-status" data-phase={status.phase}>
      <div className="flex flex-wrap items-center gap-3">
        <PhaseBadge phase={status.phase} live />
        <p className="text-sm text-slate-700" data-testid="site-status-message">
          {status.message}
        </p>
        {!connected ? <span className="text-xs text-amber-700">Status may be out of date; reconnecting…</span> : null}
      </div>
      {serving ? (
        <p className="text-sm text-slate-600" data-testid="site-status-serving">
          {serving}
        </p>
      ) : null}
      <div className="flex flex-wrap items-center gap-2">
        {status.phase === "Live" ? (
          <a
            href={url}
            target="_blank"
            rel="noreferrer"
            className="font-mono text-sm font-medium text-indigo-700 underline hover:text-indigo-500"
            data-testid="site-link"
          >
            {url}
          </a>
        ) : (
          <span className="font-mono text-sm text-slate-500">{url}</span>
        )}
        <button
          type="button"
          onClick={() => void copy()}
          className="rounded-md px-2 py-1 text-xs font-medium text-slate-600 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-indigo-600"
        >
          {copied ? "Copied" : "Copy URL"}
        </button>
      </div>
    </div>
  );
}
