import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { Suspense } from "react";
import { AuthShell } from "@/app/_components/auth-shell";
import { SignInForm } from "@/app/_components/auth-forms";
import { currentUser } from "@/lib/auth/session";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage() {
  if (await currentUser()) redirect("/");
  return (
    <AuthShell title="Sign in to your workspace">
      <Suspense>
        <SignInForm />
      </Suspense>
    </AuthShell>
  );
}
