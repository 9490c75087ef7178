import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AppHeader } from "@/app/_components/app-header";
import { ChangePasswordForm, SignOutEverywhereButton } from "@/app/_components/account-forms";
import { Card } from "@/app/_components/ui";
import { DeleteAccountForm, EmailChangeForm, NameForm, SessionList } from "@/app/account/account-settings";
import { currentUser } from "@/lib/auth/session";
import { listSessions } from "@/lib/auth/user-sessions";
import { mailEnabled } from "@/lib/mail/transport";
import { workspacesOf } from "@/lib/tenancy/access";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Account" };

export default async function AccountPage() {
  const user = await currentUser();
  if (!user) redirect(`/signin?callbackUrl=${encodeURIComponent("/account")}`);
  const [[first], sessions] = await Promise.all([workspacesOf(user.id), listSessions(user.id, user.sessionId)]);
  if (!first) redirect("/signin");
  return (
    <>
      <AppHeader tenant={first.slug} email={user.email} administer={first.role === "owner"} />
      <main className="mx-auto max-w-5xl space-y-6 px-4 py-8">
        <h1 className="text-2xl font-semibold tracking-tight">Account</h1>
        <Card className="max-w-lg space-y-4">
          <h2 className="text-lg font-semibold text-slate-900">Name</h2>
          <NameForm name={user.name} />
        </Card>
        <Card className="max-w-lg space-y-4">
          <h2 className="text-lg font-semibold text-slate-900">Email address</h2>
          <p className="text-sm text-slate-600">
            Your address is <span className="font-medium text-slate-900">{user.email}</span>
            {user.emailVerified ? " (confirmed)" : " (not confirmed yet)"}. To change it, we send a link to the new address; your account moves there once you
            open it, and we tell the old address.
          </p>
          <EmailChangeForm mail={mailEnabled()} />
        </Card>
        <Card className="max-w-lg space-y-4">
          <h2 className="text-lg font-semibold text-slate-900">Change password</h2>
          <p className="text-sm text-slate-600">Changing your password signs you out on every other device and browser.</p>
          <ChangePasswordForm />
        </Card>
        <Card className="max-w-2xl space-y-4">
          <h2 className="text-lg font-semibold text-slate-900">Where you are signed in</h2>
          {user.sessionId === null ? (
            <p className="text-sm text-slate-600">This browser signed in before sessions were listed: sign out and in again to see it here.</p>
          ) : null}
          <SessionList sessions={sessions} />
        </Card>
        <Card className="max-w-lg space-y-4">
          <h2 className="text-lg font-semibold text-slate-900">Sign out everywhere</h2>
          <p className="text-sm text-slate-600">
            Ends every session of your account, this one included: use it if you signed in on a computer that is not yours, or think someone else has your
            session.
          </p>
          <SignOutEverywhereButton />
        </Card>
        <Card className="max-w-lg space-y-4">
          <h2 className="text-lg font-semibold text-slate-900">Delete account</h2>
          <p className="text-sm text-slate-600">
            Deletes your account, your sessions and the API tokens you made, and each workspace where you are the only member and that has no sites. It cannot
            be undone. While you are the last owner of a workspace with sites or other members, make someone else an owner first.
          </p>
          <DeleteAccountForm />
        </Card>
      </main>
    </>
  );
}
