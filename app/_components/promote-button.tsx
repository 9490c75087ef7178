"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { callApi } from "@/app/_lib/api-client";
import { useHydrated } from "@/app/_components/use-hydrated";

export function PromoteButton({ tenant, site, deployId, label }: { tenant: string; site: string; deployId: string; label: string }) {
  const router = useRouter();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const hydrated = useHydrated();

  async function promote() {
    setPending(true);
    setError(null);
    const result = await callApi<unknown>("POST", `/api/tenants/${tenant}/sites/${site}/deploys/${deployId}/promote`);
    setPending(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    router.refresh();
  }

  return (
    <span className="flex items-center gap-2">
      {error ? (
        <span className="text-xs text-red-700" role="alert">
          {error}
        </span>
      ) : null}
      <button
        type="button"
        disabled={pending || !hydrated}
        onClick={() => void promote()}
        className="rounded-md px-2 py-1 text-xs font-semibold text-indigo-700 ring-1 ring-inset ring-indigo-200 hover:bg-indigo-50 disabled:opacity-50 focus-visible:outline-2 focus-visible:outline-indigo-600"
      >
        {pending ? "Promoting…" : label}
      </button>
    </span>
  );
}
