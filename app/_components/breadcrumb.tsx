import Link from "next/link";
import { Fragment } from "react";

export interface Crumb {
  href: string;
  label: string;
}

/** The trail above a page's heading: links back up to the workspace, then the page itself. */
export function Breadcrumb({ trail, current }: { trail: Crumb[]; current: string }) {
  return (
    <nav aria-label="Breadcrumb" className="text-sm text-slate-500">
      {trail.map((crumb) => (
        <Fragment key={crumb.href}>
          <Link href={crumb.href} className="hover:text-slate-800">
            {crumb.label}
          </Link>{" "}
          /{" "}
        </Fragment>
      ))}
      <span className="text-slate-800">{current}</span>
    </nav>
  );
}
