"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { Alert, Button, Field, NewPasswordField } from "@/app/_components/ui";
import { callApi } from "@/app/_lib/api-client";
import { useHydrated } from "@/app/_components/use-hydrated";

export function ChangePasswordForm() {
  const router = useRouter();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    setPending(true);
    setErrors({});
    setFormError(null);
    setDone(false);
    const result = await callApi<{ signedIn: boolean }>("POST", "/api/account/password", {
      currentPassword: String(form.get("currentPassword") ?? ""),
      newPassword: String(form.get("newPassword") ?? ""),
    });
    setPending(false);
    if (!result.ok) {
      setErrors(result.error.fields);
      if (Object.keys(result.error.fields).length === 0) setFormError(result.error.message);
      return;
    }
    formElement.reset();
    setDone(true);
    router.refresh();
  }

  return (
    <form method="post" onSubmit={onSubmit} className="space-y-4" noValidate>
      {formError ? <Alert>{formError}</Alert> : null}
      {done ? <Alert tone="info">Password changed. You are still signed in here; every other device has been signed out.</Alert> : null}
      <Field id="currentPassword" label="Current password" type="password" autoComplete="current-password" required error={errors.currentPassword} />
      <NewPasswordField id="newPassword" label="New password" error={errors.newPassword} />
      <Button type="submit" disabled={pending || !hydrated}>
        {pending ? "Changing…" : "Change password"}
      </Button>
    </form>
  );
}

export function SignOutEverywhereButton() {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onClick() {
    setPending(true);
    setError(null);
    const result = await callApi<{ signedOut: boolean }>("POST", "/api/account/sign-out-everywhere");
    if (!result.ok) {
      setPending(false);
      setError(result.error.message);
      return;
    }
    router.replace("/signin?signedOut=everywhere");
    router.refresh();
  }

  return (
    <div className="space-y-3">
      {error ? <Alert>{error}</Alert> : null}
      <Button type="button" variant="danger" disabled={pending || !hydrated} onClick={() => void onClick()}>
        {pending ? "Signing out…" : "Sign out everywhere"}
      </Button>
    </div>
  );
}
