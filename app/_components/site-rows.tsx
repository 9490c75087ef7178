"use client";

import Link from "next/link";
import { PhaseBadge, type PhaseName } from "@/app/_components/phase-badge";

/**
 * One row of the site list as the server sends it: only what the row shows.
 * A tuple, because every render (and every refresh when a site changes)
 * carries fifty of them in its payload, where rows built on the server would
 * send each row's whole element tree, class names included, next to its HTML.
 */
export type SiteRowData = readonly [name: string, url: string, deployCount: number, phase: PhaseName | null];

const deploys = (count: number) => (count === 0 ? "No deploys yet" : `${count} deploy${count === 1 ? "" : "s"}`);

export function SiteRows({ tenant, rows }: { tenant: string; rows: readonly SiteRowData[] }) {
  return (
    <ul role="list" className="divide-y divide-slate-200 overflow-hidden rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
      {rows.map(([name, url, deployCount, phase]) => (
        <li key={name} data-testid="site-row">
          <Link
            href={`/w/${tenant}/sites/${name}`}
            className="flex items-center justify-between px-5 py-4 hover:bg-slate-50 focus-visible:bg-slate-50 focus-visible:outline-none"
          >
            <div>
              <p className="font-medium text-slate-900">{name}</p>
              <p className="font-mono text-xs text-slate-500">{url}</p>
            </div>
            <span className="flex items-center gap-3 text-sm text-slate-500">
              {deploys(deployCount)}
              {phase ? <PhaseBadge phase={phase} size="sm" /> : null}
            </span>
          </Link>
        </li>
      ))}
    </ul>
  );
}
