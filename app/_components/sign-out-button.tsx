"use client";

import { signOut } from "next-auth/react";
import { useHydrated } from "@/app/_components/use-hydrated";

export function SignOutButton() {
  const hydrated = useHydrated();
  return (
    <button
      type="button"
      disabled={!hydrated}
      onClick={() => void signOut({ callbackUrl: "/signin" })}
      className="rounded-md px-2 py-1 text-sm font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 focus-visible:outline-2 focus-visible:outline-indigo-600"
    >
      Sign out
    </button>
  );
}
