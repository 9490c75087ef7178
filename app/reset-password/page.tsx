import type { Metadata } from "next";
import Link from "next/link";
import { AuthShell } from "@/app/_components/auth-shell";
import { ResetPasswordForm } from "@/app/_components/email-flows";
import { Alert } from "@/app/_components/ui";
import { checkEmailToken, EmailLinkError } from "@/lib/accounts/email-tokens";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Choose a new password" };

/** Only reads the link: a mail scanner that opens it spends nothing; the form's POST does. */
export default async function ResetPasswordPage({ searchParams }: { searchParams: Promise<{ token?: string | string[] }> }) {
  const { token } = await searchParams;
  const open = await checkEmailToken(token, "password_reset");
  return (
    <AuthShell title="Choose a new password">
      {typeof open === "string" ? (
        <div className="space-y-5">
          <Alert>{EmailLinkError.messageFor(open, "password_reset")}</Alert>
          <p className="text-center text-sm text-slate-600">
            <Link href="/forgot-password" className="font-semibold text-indigo-600 hover:text-indigo-500">
              Ask for a new link
            </Link>
          </p>
        </div>
      ) : (
        <ResetPasswordForm token={token as string} email={open.email} />
      )}
    </AuthShell>
  );
}
