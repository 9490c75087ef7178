import Link from "next/link";

export interface SwitcherWorkspace {
  slug: string;
  name: string;
  role: "owner" | "member" | "viewer";
}

/** The workspaces a person belongs to, as plain links: it works before the page's scripts load. */
export function WorkspaceSwitcher({ current, workspaces }: { current: string; workspaces: SwitcherWorkspace[] }) {
  const here = workspaces.find((w) => w.slug === current);
  return (
    <details className="relative text-sm" data-testid="workspace-switcher">
      <summary className="cursor-pointer list-none rounded-md px-2 py-1 font-medium text-slate-700 ring-1 ring-inset ring-slate-300 hover:bg-slate-50">
        {here ? here.name : current} <span className="text-xs text-slate-500">({here?.role ?? "member"})</span> ▾
      </summary>
      <ul aria-label="Your workspaces" className="absolute left-0 z-10 mt-1 min-w-56 rounded-md border border-slate-200 bg-white py-1 shadow-lg">
        {workspaces.map((w) => (
          <li key={w.slug}>
            <Link
              href={`/w/${w.slug}`}
              aria-current={w.slug === current ? "page" : undefined}
              className={`block px-3 py-1.5 hover:bg-slate-100 ${w.slug === current ? "font-semibold text-indigo-700" : "text-slate-700"}`}
              data-testid="workspace-option"
            >
              {w.name} <span className="text-xs text-slate-500">{w.role}</span>
            </Link>
          </li>
        ))}
      </ul>
    </details>
  );
}
