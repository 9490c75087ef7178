"use client";

import { signIn } from "next-auth/react";
import { useSearchParams } from "next/navigation";
import { useState } from "react";
import { Button } from "@/app/_components/ui";
import { useHydrated } from "@/app/_components/use-hydrated";
import { safeCallbackPath } from "@/lib/auth/callback-url";

/** Starts single sign-on: next-auth's POST to /api/auth/signin/oidc (CSRF-checked), then the provider's own pages. */
export function OidcSignInButton({ name }: { name: string }) {
  const params = useSearchParams();
  const hydrated = useHydrated();
  const [pending, setPending] = useState(false);
  return (
    <div className="mb-5 space-y-5">
      <Button
        type="button"
        variant="secondary"
        className="w-full"
        disabled={pending || !hydrated}
        onClick={() => {
          setPending(true);
          void signIn("oidc", { callbackUrl: safeCallbackPath(params.get("callbackUrl"), window.location.origin) });
        }}
      >
        {pending ? "Going to your identity provider…" : `Continue with ${name}`}
      </Button>
      <p className="flex items-center gap-3 text-xs uppercase tracking-wide text-slate-400">
        <span className="h-px flex-1 bg-slate-200" />
        or with your password
        <span className="h-px flex-1 bg-slate-200" />
      </p>
    </div>
  );
}
