"use client";

import { signOut } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { Alert, Button } from "@/app/_components/ui";
import { useHydrated } from "@/app/_components/use-hydrated";
import { callApi } from "@/app/_lib/api-client";
import type { OidcLinkedResponse } from "@/lib/api/schemas";

export function LinkConfirmForm({ pending }: { pending: string }) {
  const router = useRouter();
  const hydrated = useHydrated();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const linked = await callApi<OidcLinkedResponse>("POST", "/api/oidc/link", { pending });
    if (!linked.ok) {
      setBusy(false);
      setError(linked.error.message);
      return;
    }
    router.replace(linked.data.tenant ? `/w/${linked.data.tenant}` : "/");
    router.refresh();
  }

  return (
    <form method="post" onSubmit={onSubmit} className="space-y-5">
      {error ? <Alert>{error}</Alert> : null}
      <Button type="submit" className="w-full" disabled={busy || !hydrated}>
        {busy ? "Linking…" : "Link and continue"}
      </Button>
    </form>
  );
}

export function SignInAgainButton({ callbackUrl, why }: { callbackUrl: string; why: string }) {
  const hydrated = useHydrated();
  return (
    <div className="space-y-3">
      <p>{why}</p>
      <Button type="button" className="w-full" disabled={!hydrated} onClick={() => void signOut({ callbackUrl })}>
        Sign out, then sign in with the password
      </Button>
    </div>
  );
}
