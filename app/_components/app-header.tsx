import Link from "next/link";
import { SignOutButton } from "@/app/_components/sign-out-button";
import { WorkspaceSwitcher, type SwitcherWorkspace } from "@/app/_components/workspace-switcher";

const NAV_LINK = "rounded-md px-2 py-1 font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900";

export function AppHeader({
  tenant,
  email,
  administer = false,
  workspaces,
}: {
  tenant: string;
  email: string;
  /** Owners see the links to what only they may use (tokens, members); the server refuses everyone else anyway. */
  administer?: boolean;
  /** Every workspace of the person, for the switcher; omitted where none is shown. */
  workspaces?: SwitcherWorkspace[];
}) {
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-5xl items-center justify-between px-4 py-3">
        <div className="flex items-center gap-3">
          <Link href={`/w/${tenant}`} className="text-lg font-bold tracking-tight text-indigo-700">
            Pagoda
          </Link>
          {workspaces ? <WorkspaceSwitcher current={tenant} workspaces={workspaces} /> : null}
        </div>
        <div className="flex items-center gap-3 text-sm text-slate-600">
          <span aria-label="Signed in as">{email}</span>
          {administer ? (
            <>
              <Link href={`/w/${tenant}/members`} className={NAV_LINK} data-testid="nav-members">
                Members
              </Link>
              <Link href={`/w/${tenant}/audit`} className={NAV_LINK} data-testid="nav-audit">
                Audit log
              </Link>
              <Link href={`/w/${tenant}/settings`} className={NAV_LINK} data-testid="nav-settings">
                Settings
              </Link>
            </>
          ) : null}
          <Link href="/account" className={NAV_LINK}>
            Account
          </Link>
          <SignOutButton />
        </div>
      </div>
    </header>
  );
}
