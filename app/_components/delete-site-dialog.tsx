"use client";

import * as Dialog from "@radix-ui/react-dialog";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Alert, Button } from "@/app/_components/ui";
import { callApi } from "@/app/_lib/api-client";
import { useHydrated } from "@/app/_components/use-hydrated";

export function DeleteSiteDialog({ tenant, site }: { tenant: string; site: string }) {
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onDelete() {
    setPending(true);
    setError(null);
    const result = await callApi<void>("DELETE", `/api/tenants/${tenant}/sites/${site}`);
    setPending(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    setOpen(false);
    router.push(`/w/${tenant}`);
    router.refresh();
  }

  return (
    <Dialog.Root
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        setTyped("");
        setError(null);
      }}
    >
      <Dialog.Trigger asChild>
        <Button variant="danger" disabled={!hydrated}>
          Delete site
        </Button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-slate-900/40" />
        <Dialog.Content className="fixed left-1/2 top-1/2 w-[min(28rem,calc(100vw-2rem))] -translate-x-1/2 -translate-y-1/2 rounded-lg bg-white p-6 shadow-xl focus:outline-none">
          <Dialog.Title className="text-lg font-semibold text-slate-900">Delete {site}?</Dialog.Title>
          <Dialog.Description className="mt-2 text-sm text-slate-600">
            The site goes offline and its deploy history is removed. This cannot be undone. Type <strong className="font-mono">{site}</strong> to confirm.
          </Dialog.Description>
          <label htmlFor="confirm-name" className="sr-only">
            Site name
          </label>
          <input
            id="confirm-name"
            value={typed}
            onChange={(event) => setTyped(event.target.value)}
            autoComplete="off"
            className="mt-4 block w-full rounded-md border-0 px-3 py-2 font-mono text-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-red-500"
          />
          {error ? (
            <div className="mt-3">
              <Alert>{error}</Alert>
            </div>
          ) : null}
          <div className="mt-6 flex justify-end gap-3">
            <Dialog.Close asChild>
              <Button variant="secondary">Cancel</Button>
            </Dialog.Close>
            <Button variant="danger" disabled={typed !== site || pending} onClick={() => void onDelete()}>
              {pending ? "Deleting…" : "Delete forever"}
            </Button>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
