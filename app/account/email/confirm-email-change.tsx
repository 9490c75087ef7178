"use client";

import Link from "next/link";
import { useState, type FormEvent } from "react";
import { Alert, Button } from "@/app/_components/ui";
import { useHydrated } from "@/app/_components/use-hydrated";
import { callApi } from "@/app/_lib/api-client";

const linkStyle = "font-semibold text-indigo-600 hover:text-indigo-500";

export function ConfirmEmailChange({ token, from, to }: { token: string; from: string; to: string }) {
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setPending(true);
    setError(null);
    const result = await callApi<{ email: string }>("POST", "/api/account/email/confirm", { token });
    setPending(false);
    if (!result.ok) return setError(result.error.message);
    // No refresh: rendered again, this page would read the link as spent and replace this answer.
    setDone(result.data.email);
  }

  if (done) {
    return (
      <div className="space-y-5">
        <Alert tone="info">Done: your account now uses {done}.</Alert>
        <p className="text-center text-sm text-slate-600">
          <Link href="/account" className={linkStyle}>
            Back to your account
          </Link>
        </p>
      </div>
    );
  }
  return (
    <form method="post" onSubmit={onSubmit} className="space-y-5" noValidate>
      {error ? <Alert>{error}</Alert> : null}
      <p className="text-sm text-slate-600">
        Move your account from <span className="font-medium text-slate-900">{from}</span> to <span className="font-medium text-slate-900">{to}</span>? You stay
        signed in, and we tell the old address.
      </p>
      <Button type="submit" className="w-full" disabled={pending || !hydrated}>
        {pending ? "Changing…" : "Use this address"}
      </Button>
    </form>
  );
}
