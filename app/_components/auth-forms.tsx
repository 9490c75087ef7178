"use client";

import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useState, type FormEvent } from "react";
import { Alert, Button, Field, NewPasswordField } from "@/app/_components/ui";
import { callApi } from "@/app/_lib/api-client";
import { signInWithPassword } from "@/app/_lib/sign-in";
import { safeCallbackPath } from "@/lib/auth/callback-url";
import { useHydrated } from "@/app/_components/use-hydrated";
import { OIDC_FLOW_ERRORS } from "@/lib/auth/oidc-messages";

const SIGN_IN_ERRORS: Record<string, string> = {
  ...OIDC_FLOW_ERRORS,
  CredentialsSignin: "Wrong email or password.",
  RateLimited: "Too many sign-in attempts. Wait a few minutes and try again.",
  SessionRequired: "Sign in to continue.",
};

export function SignInForm() {
  const router = useRouter();
  const params = useSearchParams();
  const [error, setError] = useState<string | null>(() => {
    const code = params.get("error");
    return code ? (SIGN_IN_ERRORS[code] ?? "Sign-in failed. Try again.") : null;
  });
  const [pending, setPending] = useState(false);
  const signedOutEverywhere = params.get("signedOut") === "everywhere" && !error;
  const passwordReset = params.get("reset") === "done" && !error;
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    const result = await signInWithPassword(String(form.get("email") ?? ""), String(form.get("password") ?? ""));
    setPending(false);
    if (!result.ok) {
      setError(result.message);
      return;
    }
    // Only our own origin: an open redirect after sign-in is a phishing tool.
    router.replace(safeCallbackPath(params.get("callbackUrl"), window.location.origin));
    router.refresh();
  }

  return (
    <form method="post" onSubmit={onSubmit} className="space-y-5" noValidate>
      {error ? <Alert>{error}</Alert> : null}
      {signedOutEverywhere ? <Alert tone="info">You have been signed out on every device, this one included.</Alert> : null}
      {passwordReset ? <Alert tone="info">Your password has been changed and every device signed out. Sign in with the new password.</Alert> : null}
      <Field id="email" label="Email" type="email" autoComplete="email" required />
      <Field id="password" label="Password" type="password" autoComplete="current-password" required />
      <p className="-mt-2 text-right text-sm">
        <Link href="/forgot-password" className="font-semibold text-indigo-600 hover:text-indigo-500">
          Forgot password?
        </Link>
      </p>
      <Button type="submit" className="w-full" disabled={pending || !hydrated}>
        {pending ? "Signing in…" : "Sign in"}
      </Button>
      <p className="text-center text-sm text-slate-600">
        New to Pagoda?{" "}
        <Link href="/signup" className="font-semibold text-indigo-600 hover:text-indigo-500">
          Create an account
        </Link>
      </p>
    </form>
  );
}

/** `email` fixes the address (an invitation's); `then` is where to go once signed in, instead of the new workspace. */
export function SignUpForm({ email, then }: { email?: string; then?: string } = {}) {
  const router = useRouter();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const input = { name: String(form.get("name") ?? ""), email: String(form.get("email") ?? ""), password: String(form.get("password") ?? "") };
    setPending(true);
    setErrors({});
    setFormError(null);
    const created = await callApi<{ tenant: string }>("POST", "/api/signup", input);
    if (!created.ok) {
      setPending(false);
      setErrors(created.error.fields);
      if (Object.keys(created.error.fields).length === 0) setFormError(created.error.message);
      return;
    }
    const session = await signInWithPassword(input.email, input.password);
    if (!session.ok) {
      setPending(false);
      setFormError(
        session.code === "rate_limited"
          ? `Your account was created, but signing in was refused: ${session.message.replace(/^Too/, "too")} Then sign in with your new password.`
          : `Your account was created, but signing in failed: ${session.message} Sign in with your new password.`,
      );
      return;
    }
    router.replace(then ?? `/w/${created.data.tenant}`);
    router.refresh();
  }

  return (
    <form method="post" onSubmit={onSubmit} className="space-y-5" noValidate>
      {formError ? <Alert>{formError}</Alert> : null}
      <Field id="name" label="Your name" autoComplete="name" maxLength={80} required error={errors.name} />
      <Field
        id="email"
        label="Email"
        type="email"
        autoComplete="email"
        maxLength={254}
        required
        error={errors.email}
        {...(email ? { defaultValue: email, readOnly: true } : {})}
      />
      <NewPasswordField id="password" label="Password" error={errors.password} />
      <Button type="submit" className="w-full" disabled={pending || !hydrated}>
        {pending ? "Creating your account…" : "Create account"}
      </Button>
      <p className="text-center text-sm text-slate-600">
        Already have an account?{" "}
        <Link href="/signin" className="font-semibold text-indigo-600 hover:text-indigo-500">
          Sign in
        </Link>
      </p>
    </form>
  );
}
