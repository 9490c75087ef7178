import type { Metadata } from "next";
import Link from "next/link";
import { AuthShell } from "@/app/_components/auth-shell";
import { VerifyEmailForm } from "@/app/_components/email-flows";
import { Alert } from "@/app/_components/ui";
import { checkEmailToken, EmailLinkError } from "@/lib/accounts/email-tokens";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Confirm your email address" };

/** Only reads the link: a mail scanner that opens it confirms nothing; the button's POST does. */
export default async function VerifyEmailPage({ searchParams }: { searchParams: Promise<{ token?: string | string[] }> }) {
  const { token } = await searchParams;
  const open = await checkEmailToken(token, "verify_email");
  return (
    <AuthShell title="Confirm your email address">
      {typeof open === "string" ? (
        <div className="space-y-5">
          <Alert>{EmailLinkError.messageFor(open, "verify_email")}</Alert>
          <p className="text-center text-sm text-slate-600">
            <Link href="/" className="font-semibold text-indigo-600 hover:text-indigo-500">
              Go to the dashboard
            </Link>
          </p>
        </div>
      ) : (
        <VerifyEmailForm token={token as string} email={open.email} />
      )}
    </AuthShell>
  );
}
