import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthShell } from "@/app/_components/auth-shell";
import { SignUpForm } from "@/app/_components/auth-forms";
import { currentUser } from "@/lib/auth/session";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Create your account" };

export default async function SignUpPage() {
  if (await currentUser()) redirect("/");
  return (
    <AuthShell title="Create your account">
      <SignUpForm />
    </AuthShell>
  );
}
