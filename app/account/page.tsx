import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AppHeader } from "@/app/_components/app-header";
import { ChangePasswordForm, SignOutEverywhereButton } from "@/app/_components/account-forms";
import { Alert, Card } from "@/app/_components/ui";
import { DeleteAccountForm, EmailChangeForm, NameForm, SessionList } from "@/app/account/account-settings";
import { SecurityActivityList } from "@/app/account/security-activity";
import { listSecurityActivity, type SecurityActivity } from "@/lib/accounts/security-activity";
import { currentUser } from "@/lib/auth/session";
import { listSessions } from "@/lib/auth/user-sessions";
import { ValidationError } from "@/lib/errors";
import { mailEnabled } from "@/lib/mail/transport";
import { workspacesOf } from "@/lib/tenancy/access";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Account" };

// A page link that is no longer valid shows the newest events and says so, instead of failing the whole page.
async function activityOf(userId: string, cursor: string | undefined): Promise<{ activity: SecurityActivity; problem: string | null }> {
  try {
    return { activity: await listSecurityActivity(userId, { cursor }), problem: null };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return { activity: await listSecurityActivity(userId), problem: error.message };
  }
}

export default async function AccountPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await currentUser();
  if (!user) redirect(`/signin?callbackUrl=${encodeURIComponent("/account")}`);
  const raw = (await searchParams).activity;
  const cursor = (Array.isArray(raw) ? raw.at(-1) : raw) || undefined;
  const [[first], sessions, { activity, problem }] = await Promise.all([
    workspacesOf(user.id),
    listSessions(user.id, user.sessionId),
    activityOf(user.id, cursor),
  ]);
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
        <Card className="max-w-2xl space-y-4">
          <h2 id="security-activity" className="text-lg font-semibold text-slate-900">
            Security activity
          </h2>
          <p className="text-sm text-slate-600">
            Sign-ins, password and email changes and ended sessions of your account, newest first. Only you see these: they are not in any workspace&apos;s
            audit log. Something you do not recognise? Change your password and sign out everywhere.
          </p>
          {problem ? <Alert>{problem}</Alert> : null}
          <SecurityActivityList activity={activity} paged={cursor !== undefined && problem === null} />
        </Card>
      </main>
    </>
  );
}
