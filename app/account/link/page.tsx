import type { Metadata } from "next";
import Link from "next/link";
import { cookies } from "next/headers";
import { AuthShell } from "@/app/_components/auth-shell";
import { Alert } from "@/app/_components/ui";
import { LinkConfirmForm, SignInAgainButton } from "@/app/account/link/link-forms";
import { linkProof, readPendingLink } from "@/lib/auth/oidc-link";
import { sessionCookie } from "@/lib/auth/session-token";
import { getConfig } from "@/lib/config";
import { ValidationError } from "@/lib/errors";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Link your sign-in" };

/**
 * Where single sign-on sends someone whose provider-verified address already
 * has a Pagoda account. Only reads: linking is the button's CSRF-checked
 * POST, and only after a password sign-in to that account.
 */
export default async function LinkPage({ searchParams }: { searchParams: Promise<{ pending?: string | string[] }> }) {
  const { pending } = await searchParams;
  const provider = getConfig().PAGODA_OIDC_NAME;
  let link;
  try {
    link = await readPendingLink(pending);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return (
      <AuthShell title="Link your sign-in">
        <div className="space-y-5">
          <Alert>{error.message}</Alert>
          <p className="text-center text-sm text-slate-600">
            <Link href="/signin" className="font-semibold text-indigo-600 hover:text-indigo-500">
              Go to sign-in
            </Link>
          </p>
        </div>
      </AuthShell>
    );
  }
  const here = `/account/link?pending=${encodeURIComponent(pending as string)}`;
  const proof = await linkProof(link, (await cookies()).get(sessionCookie().name)?.value);
  return (
    <AuthShell title="Link your sign-in">
      <div className="space-y-5 text-sm text-slate-700">
        {proof.ok ? (
          <>
            <p>
              Use <strong>{provider}</strong> to sign in to your Pagoda account <strong>{link.email}</strong> from now on? Your password keeps working too.
            </p>
            <LinkConfirmForm pending={pending as string} />
          </>
        ) : (
          <>
            <Alert tone="info">
              An account with the address {link.email} already exists. To sign in to it with {provider}, first prove it is yours: sign in with its password.
              Then confirm the link on this page.
            </Alert>
            {proof.reason === "signed_out" ? (
              <Link
                href={`/signin?callbackUrl=${encodeURIComponent(here)}`}
                className="block rounded-md bg-indigo-600 px-3.5 py-2 text-center text-sm font-semibold text-white hover:bg-indigo-500"
              >
                Sign in with your password
              </Link>
            ) : (
              <SignInAgainButton
                callbackUrl={`/signin?callbackUrl=${encodeURIComponent(here)}`}
                why={
                  proof.reason === "other_account"
                    ? `You are signed in to another account, not ${link.email}.`
                    : "Sign in again with the password, here and now."
                }
              />
            )}
          </>
        )}
      </div>
    </AuthShell>
  );
}
