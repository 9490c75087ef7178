import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { AuthShell } from "@/app/_components/auth-shell";
import { Alert } from "@/app/_components/ui";
import { ConfirmEmailChange } from "@/app/account/email/confirm-email-change";
import { checkEmailChange, OTHER_ACCOUNT_MESSAGE } from "@/lib/accounts/email-change";
import { EmailLinkError } from "@/lib/accounts/email-tokens";
import { currentUser } from "@/lib/auth/session";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Confirm your new email address" };

/**
 * Only reads the link: a mail scanner that opens it changes nothing; the
 * button's POST does, and only for the account signed in here.
 */
export default async function ConfirmEmailChangePage({ searchParams }: { searchParams: Promise<{ token?: string | string[] }> }) {
  const { token } = await searchParams;
  const user = await currentUser();
  if (!user) {
    const back = typeof token === "string" ? `/account/email?token=${encodeURIComponent(token)}` : "/account";
    redirect(`/signin?callbackUrl=${encodeURIComponent(back)}`);
  }
  const open = await checkEmailChange(token);
  const problem = typeof open === "string" ? EmailLinkError.messageFor(open, "change_email") : open.userId !== user.id ? OTHER_ACCOUNT_MESSAGE : null;
  return (
    <AuthShell title="Confirm your new email address">
      {problem !== null || typeof open === "string" ? (
        <div className="space-y-5">
          <Alert>{problem}</Alert>
          <p className="text-center text-sm text-slate-600">
            <Link href="/account" className="font-semibold text-indigo-600 hover:text-indigo-500">
              Go to your account
            </Link>
          </p>
        </div>
      ) : (
        <ConfirmEmailChange token={token as string} from={open.email} to={open.newEmail} />
      )}
    </AuthShell>
  );
}
