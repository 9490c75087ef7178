"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { Alert, Button, Field, NewPasswordField } from "@/app/_components/ui";
import { callApi } from "@/app/_lib/api-client";
import { useHydrated } from "@/app/_components/use-hydrated";

const linkStyle = "font-semibold text-indigo-600 hover:text-indigo-500";

export function ForgotPasswordForm() {
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | undefined>();
  const [sent, setSent] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    setFieldError(undefined);
    const result = await callApi<{ message: string }>("POST", "/api/account/password-reset", { email: String(form.get("email") ?? "") });
    setPending(false);
    if (!result.ok) {
      setFieldError(result.error.fields.email);
      if (!result.error.fields.email) setError(result.error.message);
      return;
    }
    setSent(result.data.message);
  }

  if (sent) {
    return (
      <div className="space-y-5">
        <Alert tone="info">{sent}</Alert>
        <p className="text-center text-sm text-slate-600">
          <Link href="/signin" className={linkStyle}>
            Back to sign-in
          </Link>
        </p>
      </div>
    );
  }
  return (
    <form method="post" onSubmit={onSubmit} className="space-y-5" noValidate>
      {error ? <Alert>{error}</Alert> : null}
      <p className="text-sm text-slate-600">Enter the email address of your account. We will send it a link to choose a new password.</p>
      <Field id="email" label="Email" type="email" autoComplete="email" maxLength={254} required error={fieldError} />
      <Button type="submit" className="w-full" disabled={pending || !hydrated}>
        {pending ? "Sending…" : "Send the reset link"}
      </Button>
      <p className="text-center text-sm text-slate-600">
        Remembered it?{" "}
        <Link href="/signin" className={linkStyle}>
          Sign in
        </Link>
      </p>
    </form>
  );
}

export function ResetPasswordForm({ token, email }: { token: string; email: string }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | undefined>();
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    setFieldError(undefined);
    const result = await callApi<{ reset: true }>("POST", "/api/account/password-reset/complete", { token, password: String(form.get("password") ?? "") });
    if (!result.ok) {
      setPending(false);
      setFieldError(result.error.fields.password);
      if (!result.error.fields.password) setError(result.error.message);
      return;
    }
    router.replace("/signin?reset=done");
    router.refresh();
  }

  return (
    <form method="post" onSubmit={onSubmit} className="space-y-5" noValidate>
      {error ? <Alert>{error}</Alert> : null}
      <p className="text-sm text-slate-600">
        Choose a new password for <span className="font-medium text-slate-900">{email}</span>. Every device signed in to this account will be signed out.
      </p>
      <NewPasswordField id="password" label="New password" error={fieldError} />
      <Button type="submit" className="w-full" disabled={pending || !hydrated}>
        {pending ? "Saving…" : "Set the new password"}
      </Button>
    </form>
  );
}

export function VerifyEmailForm({ token, email }: { token: string; email: string }) {
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setPending(true);
    setError(null);
    const result = await callApi<{ verified: true }>("POST", "/api/account/email-verification", { token });
    setPending(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    setDone(true);
  }

  if (done) {
    return (
      <div className="space-y-5">
        <Alert tone="info">Thank you: {email} is confirmed.</Alert>
        <p className="text-center text-sm text-slate-600">
          <Link href="/" className={linkStyle}>
            Go to your sites
          </Link>
        </p>
      </div>
    );
  }
  return (
    <form method="post" onSubmit={onSubmit} className="space-y-5" noValidate>
      {error ? <Alert>{error}</Alert> : null}
      <p className="text-sm text-slate-600">
        Confirm that <span className="font-medium text-slate-900">{email}</span> is your email address.
      </p>
      <Button type="submit" className="w-full" disabled={pending || !hydrated}>
        {pending ? "Confirming…" : "Confirm my address"}
      </Button>
    </form>
  );
}

/** The dashboard's banner until the address is confirmed, with "send again". */
export function VerifyEmailBanner({ email, lastSendFailed }: { email: string; lastSendFailed: boolean }) {
  const [state, setState] = useState<{ tone: "info" | "error"; text: string } | null>(null);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function resend() {
    setPending(true);
    const result = await callApi<{ sent: true }>("POST", "/api/account/email-verification/resend", {});
    setPending(false);
    setState(result.ok ? { tone: "info", text: `Sent. Check the inbox of ${email}.` } : { tone: "error", text: result.error.message });
  }

  const failed = lastSendFailed && state === null;
  return (
    <div
      data-testid="verify-email-banner"
      className={`border-b px-4 py-2 text-sm ${failed ? "border-red-200 bg-red-50 text-red-900" : "border-amber-200 bg-amber-50 text-amber-900"}`}
    >
      <div className="mx-auto flex max-w-5xl flex-wrap items-center gap-x-3 gap-y-1">
        <span>{failed ? `We could not send the confirmation link to ${email}.` : `Please confirm your email address: we sent a link to ${email}.`}</span>
        <button type="button" onClick={resend} disabled={pending || !hydrated} className="font-semibold underline disabled:opacity-50">
          {pending ? "Sending…" : failed ? "Try again" : "Send it again"}
        </button>
        {state ? (
          <span role={state.tone === "error" ? "alert" : "status"} className={state.tone === "error" ? "text-red-800" : ""}>
            {state.text}
          </span>
        ) : null}
      </div>
    </div>
  );
}
