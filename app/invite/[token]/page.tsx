import type { Metadata } from "next";
import Link from "next/link";
import { AuthShell } from "@/app/_components/auth-shell";
import { SignUpForm } from "@/app/_components/auth-forms";
import { SignOutButton } from "@/app/_components/sign-out-button";
import { Alert } from "@/app/_components/ui";
import { checkInvitation, InvitationLinkError } from "@/lib/accounts/invitations";
import { currentUser } from "@/lib/auth/session";
import { AcceptInvitation } from "./accept-invitation";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Invitation" };

const link = "font-semibold text-indigo-600 hover:text-indigo-500";

/**
 * Only reads the link: a mail scanner that opens it joins nobody. The
 * button's POST accepts, as the signed-in account with the invited address.
 */
export default async function InvitationPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const [open, user] = await Promise.all([checkInvitation(token), currentUser()]);
  if (typeof open === "string") {
    return (
      <AuthShell title="Invitation">
        <div className="space-y-5">
          <Alert>{new InvitationLinkError(open).message}</Alert>
          <p className="text-center text-sm text-slate-600">
            <Link href="/" className={link}>
              Go to the dashboard
            </Link>
          </p>
        </div>
      </AuthShell>
    );
  }
  const here = `/invite/${token}`;
  const role = open.role === "owner" ? "an owner" : `a ${open.role}`;
  return (
    <AuthShell title={`Join ${open.tenantName}`}>
      <div className="space-y-5">
        <p className="text-sm text-slate-700" data-testid="invitation-summary">
          {open.inviter ? `${open.inviter} invited` : "You are invited:"} <span className="font-medium">{open.email}</span> to the workspace{" "}
          <span className="font-medium">{open.tenantName}</span> as {role}.
        </p>
        {user && user.email === open.email ? (
          <AcceptInvitation token={token} workspace={open.tenantName} />
        ) : user ? (
          <div className="space-y-3">
            <Alert>
              This invitation is for {open.email}, but you are signed in as {user.email}. Sign out, then open the link again and sign in (or sign up) with{" "}
              {open.email}.
            </Alert>
            <SignOutButton />
          </div>
        ) : (
          <div className="space-y-5">
            <p className="text-sm text-slate-600">
              Have an account with this address?{" "}
              <Link href={`/signin?callbackUrl=${encodeURIComponent(here)}`} className={link} data-testid="invitation-signin">
                Sign in
              </Link>{" "}
              to accept. New to Pagoda? Create your account:
            </p>
            <SignUpForm email={open.email} then={here} />
          </div>
        )}
      </div>
    </AuthShell>
  );
}
