import Link from "next/link";
import { SignOutButton } from "@/app/_components/sign-out-button";

export function AppHeader({ tenant, email }: { tenant: string; email: string }) {
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-5xl items-center justify-between px-4 py-3">
        <Link href={`/w/${tenant}`} className="text-lg font-bold tracking-tight text-indigo-700">
          Pagoda
        </Link>
        <div className="flex items-center gap-3 text-sm text-slate-600">
          <span aria-label="Signed in as">{email}</span>
          <Link href={`/w/${tenant}/settings`} className="rounded-md px-2 py-1 font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900">
            Settings
          </Link>
          <Link href="/account" className="rounded-md px-2 py-1 font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900">
            Account
          </Link>
          <SignOutButton />
        </div>
      </div>
    </header>
  );
}
