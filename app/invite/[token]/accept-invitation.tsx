"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { Alert, Button } from "@/app/_components/ui";
import { useHydrated } from "@/app/_components/use-hydrated";
import { callApi } from "@/app/_lib/api-client";

export function AcceptInvitation({ token, workspace }: { token: string; workspace: string }) {
  const router = useRouter();
  const hydrated = useHydrated();
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function accept() {
    setPending(true);
    setError(null);
    const result = await callApi<{ tenant: string }>("POST", "/api/invitations/accept", { token });
    if (!result.ok) {
      setPending(false);
      setError(result.error.message);
      return;
    }
    router.replace(`/w/${result.data.tenant}`);
    router.refresh();
  }

  return (
    <div className="space-y-3">
      {error ? <Alert>{error}</Alert> : null}
      <Button type="button" className="w-full" disabled={!hydrated || pending} onClick={() => void accept()} data-testid="invitation-accept">
        {pending ? "Joining…" : `Join ${workspace}`}
      </Button>
    </div>
  );
}
