"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { RelativeTime } from "@/app/_components/relative-time";
import { Alert, Button, Field } from "@/app/_components/ui";
import { useHydrated } from "@/app/_components/use-hydrated";
import { callApi, type ApiFailure } from "@/app/_lib/api-client";
import type { UserSessionView } from "@/lib/api/account-schemas";

/** Field errors beside their fields; anything else above the form. */
function useFormErrors() {
  const [fields, setFields] = useState<Record<string, string>>({});
  const [form, setForm] = useState<string | null>(null);
  return {
    fields,
    form,
    clear() {
      setFields({});
      setForm(null);
    },
    show(error: ApiFailure, known: string[]) {
      setFields(error.fields);
      if (!known.some((name) => error.fields[name])) setForm(error.message);
    },
  };
}

export function NameForm({ name }: { name: string }) {
  const router = useRouter();
  const errors = useFormErrors();
  const [done, setDone] = useState(false);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    errors.clear();
    setDone(false);
    const result = await callApi<{ name: string }>("POST", "/api/account/name", { name: String(form.get("name") ?? "") });
    setPending(false);
    if (!result.ok) return errors.show(result.error, ["name"]);
    setDone(true);
    router.refresh();
  }

  return (
    <form method="post" onSubmit={onSubmit} className="space-y-4" noValidate>
      {errors.form ? <Alert>{errors.form}</Alert> : null}
      {done ? <Alert tone="info">Name saved.</Alert> : null}
      <Field id="name" label="Name" autoComplete="name" maxLength={80} defaultValue={name} required error={errors.fields.name} />
      <Button type="submit" disabled={pending || !hydrated}>
        {pending ? "Saving…" : "Save name"}
      </Button>
    </form>
  );
}

export function EmailChangeForm({ mail }: { mail: boolean }) {
  const errors = useFormErrors();
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    setPending(true);
    errors.clear();
    setSentTo(null);
    const result = await callApi<{ sentTo: string }>("POST", "/api/account/email", {
      newEmail: String(form.get("newEmail") ?? ""),
      password: String(form.get("emailPassword") ?? ""),
    });
    setPending(false);
    if (!result.ok) {
      const { password, ...rest } = result.error.fields;
      return errors.show({ ...result.error, fields: password ? { ...rest, emailPassword: password } : rest }, ["newEmail", "emailPassword"]);
    }
    formElement.reset();
    setSentTo(result.data.sentTo);
  }

  if (!mail) return <Alert tone="info">This Pagoda server is not set up to send email, so the address cannot be changed here.</Alert>;
  return (
    <form method="post" onSubmit={onSubmit} className="space-y-4" noValidate>
      {errors.form ? <Alert>{errors.form}</Alert> : null}
      {sentTo ? (
        <Alert tone="info">We sent a link to {sentTo}. Open it while signed in here to move your account to that address; until then nothing changes.</Alert>
      ) : null}
      <Field id="newEmail" label="New email address" type="email" autoComplete="email" maxLength={254} required error={errors.fields.newEmail} />
      <Field id="emailPassword" label="Your password" type="password" autoComplete="current-password" required error={errors.fields.emailPassword} />
      <Button type="submit" disabled={pending || !hydrated}>
        {pending ? "Sending…" : "Send the confirmation link"}
      </Button>
    </form>
  );
}

export function SessionList({ sessions }: { sessions: UserSessionView[] }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<string | null>(null);
  const hydrated = useHydrated();

  async function end(id: string) {
    setPending(id);
    setError(null);
    const result = await callApi<{ ended: true; signedOut: boolean }>("DELETE", `/api/account/sessions/${encodeURIComponent(id)}`);
    setPending(null);
    if (!result.ok) return setError(result.error.message);
    if (result.data.signedOut) router.replace("/signin");
    router.refresh();
  }

  return (
    <div className="space-y-3">
      {error ? <Alert>{error}</Alert> : null}
      <ul className="divide-y divide-slate-200" aria-label="Sessions">
        {sessions.map((s) => (
          <li key={s.id} className="flex items-start justify-between gap-4 py-3" data-session={s.id}>
            <div className="min-w-0 text-sm">
              <p className="truncate font-medium text-slate-900" title={s.userAgent ?? undefined}>
                {s.userAgent ?? "Unknown browser"}
                {s.current ? <span className="ml-2 rounded bg-indigo-50 px-1.5 py-0.5 text-xs font-semibold text-indigo-700">This browser</span> : null}
              </p>
              <p className="text-slate-600">
                {s.ip ?? "Unknown address"} · signed in <RelativeTime iso={s.createdAt} /> · last seen <RelativeTime iso={s.lastSeenAt} />
              </p>
            </div>
            {s.current ? null : (
              <Button type="button" variant="secondary" disabled={pending !== null || !hydrated} onClick={() => void end(s.id)}>
                {pending === s.id ? "Signing out…" : "Sign out"}
              </Button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function DeleteAccountForm() {
  const router = useRouter();
  const errors = useFormErrors();
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    errors.clear();
    const result = await callApi<{ deleted: true }>("POST", "/api/account/delete", { password: String(form.get("deletePassword") ?? "") });
    if (!result.ok) {
      setPending(false);
      const { password, ...rest } = result.error.fields;
      return errors.show({ ...result.error, fields: password ? { ...rest, deletePassword: password } : rest }, ["deletePassword"]);
    }
    router.replace("/signin?deleted=1");
    router.refresh();
  }

  return (
    <form method="post" onSubmit={onSubmit} className="space-y-4" noValidate>
      {errors.form ? <Alert>{errors.form}</Alert> : null}
      <Field id="deletePassword" label="Your password" type="password" autoComplete="current-password" required error={errors.fields.deletePassword} />
      <Button type="submit" variant="danger" disabled={pending || !hydrated}>
        {pending ? "Deleting…" : "Delete my account"}
      </Button>
    </form>
  );
}
