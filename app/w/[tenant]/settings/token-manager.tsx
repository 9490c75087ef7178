"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { Alert, Button, Field } from "@/app/_components/ui";
import { useHydrated } from "@/app/_components/use-hydrated";
import { callApi } from "@/app/_lib/api-client";
import type { ApiTokenView } from "@/lib/auth/api-tokens";

const EXPIRY_CHOICES = [
  { days: 0, label: "Never" },
  { days: 7, label: "In 7 days" },
  { days: 30, label: "In 30 days" },
  { days: 90, label: "In 90 days" },
  { days: 365, label: "In a year" },
] as const;

/** The same text on the server and in the browser, whatever the viewer's time zone. */
function when(iso: string | null, none: string) {
  if (!iso) return <span>{none}</span>;
  return <time dateTime={iso}>{`${iso.slice(0, 16).replace("T", " ")} UTC`}</time>;
}

function TokenCreated({ token, onDone }: { token: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="space-y-2 rounded-md bg-amber-50 p-4 ring-1 ring-amber-200" role="status">
      <p className="text-sm font-medium text-amber-900">Copy this token now: it is shown only once, and Pagoda keeps only a hash of it.</p>
      <div className="flex flex-wrap items-center gap-2">
        <code data-testid="token-value" className="rounded bg-white px-2 py-1 font-mono text-sm break-all text-slate-900 ring-1 ring-slate-200">
          {token}
        </code>
        <Button
          type="button"
          variant="secondary"
          onClick={() => {
            void navigator.clipboard?.writeText(token).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {copied ? "Copied" : "Copy"}
        </Button>
        <Button type="button" variant="secondary" onClick={onDone}>
          Done
        </Button>
      </div>
    </div>
  );
}

export function TokenManager({ tenant, tokens }: { tenant: string; tokens: ApiTokenView[] }) {
  const router = useRouter();
  const hydrated = useHydrated();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState({ read: true, deploy: true });
  const [expiryDays, setExpiryDays] = useState(0);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [created, setCreated] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);

  async function onCreate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setPending(true);
    setFieldErrors({});
    setFormError(null);
    const body = {
      name,
      scopes: (["read", "deploy"] as const).filter((scope) => scopes[scope]),
      expiresAt: expiryDays === 0 ? null : new Date(Date.now() + expiryDays * 86_400_000).toISOString(),
    };
    const result = await callApi<{ token: string }>("POST", `/api/tenants/${tenant}/tokens`, body);
    setPending(false);
    if (!result.ok) {
      setFieldErrors(result.error.fields);
      if (!result.error.fields.name && !result.error.fields.scopes) setFormError(result.error.message);
      return;
    }
    setCreated(result.data.token);
    setName("");
    router.refresh();
  }

  async function onRevoke(id: string) {
    setRevoking(id);
    setFormError(null);
    const result = await callApi("DELETE", `/api/tenants/${tenant}/tokens/${id}`);
    setRevoking(null);
    if (!result.ok) setFormError(result.error.message);
    router.refresh();
  }

  return (
    <div className="space-y-6">
      {created ? <TokenCreated token={created} onDone={() => setCreated(null)} /> : null}
      <form method="post" onSubmit={onCreate} className="space-y-3" noValidate>
        {formError ? <Alert>{formError}</Alert> : null}
        <Field
          id="token-name"
          label="Name"
          value={name}
          onChange={(event) => setName(event.target.value)}
          maxLength={80}
          autoComplete="off"
          placeholder="github-actions"
          error={fieldErrors.name}
          hint="Say where it is used, so you know what breaks when you revoke it."
        />
        <fieldset>
          <legend className="text-sm font-medium text-slate-800">Scopes</legend>
          <div className="mt-1 flex gap-4 text-sm text-slate-700">
            {(["read", "deploy"] as const).map((scope) => (
              <label key={scope} className="flex items-center gap-1.5">
                <input
                  type="checkbox"
                  name={`scope-${scope}`}
                  checked={scopes[scope]}
                  onChange={(event) => setScopes((current) => ({ ...current, [scope]: event.target.checked }))}
                />
                {scope === "read" ? "read (list sites and deploys, follow status)" : "deploy (upload and roll back)"}
              </label>
            ))}
          </div>
          {fieldErrors.scopes ? <p className="mt-1 text-sm text-red-600">{fieldErrors.scopes}</p> : null}
        </fieldset>
        <div>
          <label htmlFor="token-expiry" className="block text-sm font-medium text-slate-800">
            Expires
          </label>
          <select
            id="token-expiry"
            name="token-expiry"
            value={expiryDays}
            onChange={(event) => setExpiryDays(Number(event.target.value))}
            className="mt-1 block rounded-md border-0 px-3 py-2 text-sm text-slate-900 ring-1 ring-slate-300 ring-inset"
          >
            {EXPIRY_CHOICES.map((choice) => (
              <option key={choice.days} value={choice.days}>
                {choice.label}
              </option>
            ))}
          </select>
        </div>
        <Button type="submit" data-testid="token-create" disabled={pending || !hydrated}>
          {pending ? "Creating…" : "Create token"}
        </Button>
      </form>
      {tokens.length === 0 ? (
        <p className="text-sm text-slate-600">This workspace has no API tokens yet.</p>
      ) : (
        <table className="w-full text-left text-sm">
          <thead className="text-xs text-slate-500 uppercase">
            <tr>
              <th className="py-2 pr-3">Name</th>
              <th className="py-2 pr-3">Scopes</th>
              <th className="py-2 pr-3">Expires</th>
              <th className="py-2 pr-3">Last used</th>
              <th className="py-2" />
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {tokens.map((token) => (
              <tr key={token.id} data-testid="token-row" data-token-name={token.name}>
                <td className="py-2 pr-3">
                  <div className="font-medium text-slate-900">{token.name}</div>
                  <div className="font-mono text-xs text-slate-500">{token.hint}</div>
                </td>
                <td className="py-2 pr-3">{token.scopes.join(", ")}</td>
                <td className="py-2 pr-3">{when(token.expiresAt, "Never")}</td>
                <td className="py-2 pr-3">
                  {when(token.lastUsedAt, "Never")}
                  {token.lastUsedIp ? <div className="font-mono text-xs text-slate-500">{token.lastUsedIp}</div> : null}
                </td>
                <td className="py-2 text-right">
                  {token.revokedAt ? (
                    <span className="text-xs text-slate-500">Revoked {when(token.revokedAt, "")}</span>
                  ) : (
                    <Button
                      type="button"
                      variant="danger"
                      data-testid="token-revoke"
                      disabled={!hydrated || revoking === token.id}
                      onClick={() => void onRevoke(token.id)}
                    >
                      {revoking === token.id ? "Revoking…" : "Revoke"}
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
