import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { Suspense } from "react";
import { AuthShell } from "@/app/_components/auth-shell";
import { SignInForm } from "@/app/_components/auth-forms";
import { OidcSignInButton } from "@/app/signin/oidc-button";
import { oidcEnabled } from "@/lib/auth/oidc";
import { currentUser } from "@/lib/auth/session";
import { getConfig } from "@/lib/config";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage() {
  if (await currentUser()) redirect("/");
  const config = getConfig();
  return (
    <AuthShell title="Sign in to your workspace">
      <Suspense>
        {oidcEnabled(config) ? <OidcSignInButton name={config.PAGODA_OIDC_NAME} /> : null}
        <SignInForm />
      </Suspense>
    </AuthShell>
  );
}
