"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { Alert, Button, Field } from "@/app/_components/ui";
import { callApi } from "@/app/_lib/api-client";
import { useHydrated } from "@/app/_components/use-hydrated";
import { SITE_NAME_MAX_LENGTH } from "@/lib/staticsite/site-name";
import { defaultHostLabel, hostUnder } from "@/lib/staticsite/site-url";

export function CreateSiteForm({ tenant, baseDomain }: { tenant: string; baseDomain: string }) {
  const router = useRouter();
  const [name, setName] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [formError, setFormError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setPending(true);
    setError(undefined);
    setFormError(null);
    const result = await callApi<{ site: { name: string } }>("POST", `/api/tenants/${tenant}/sites`, { name });
    setPending(false);
    if (!result.ok) {
      if (result.error.fields.name) setError(result.error.fields.name);
      else setFormError(result.error.message);
      return;
    }
    router.push(`/w/${tenant}/sites/${result.data.site.name}`);
    router.refresh();
  }

  return (
    <form method="post" onSubmit={onSubmit} className="space-y-3" noValidate>
      {formError ? <Alert>{formError}</Alert> : null}
      <div className="flex flex-col gap-3 sm:flex-row sm:items-start">
        <div className="flex-1">
          <Field
            id="name"
            label="Site name"
            value={name}
            onChange={(event) => setName(event.target.value.toLowerCase())}
            maxLength={SITE_NAME_MAX_LENGTH}
            autoComplete="off"
            spellCheck={false}
            placeholder="my-portfolio"
            error={error}
            hint={
              <>
                Lower-case letters, digits and dashes. Your site will live at{" "}
                <span className="font-mono">{hostUnder(defaultHostLabel(name || "name", tenant), baseDomain)}</span>
              </>
            }
          />
        </div>
        <Button type="submit" disabled={pending || !hydrated} className="sm:mt-6">
          {pending ? "Creating…" : "Create site"}
        </Button>
      </div>
    </form>
  );
}
