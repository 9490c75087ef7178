import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AppHeader } from "@/app/_components/app-header";
import { ChangePasswordForm, SignOutEverywhereButton } from "@/app/_components/account-forms";
import { Card } from "@/app/_components/ui";
import { currentUser } from "@/lib/auth/session";
import { workspacesOf } from "@/lib/tenancy/access";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Account" };

export default async function AccountPage() {
  const user = await currentUser();
  if (!user) redirect(`/signin?callbackUrl=${encodeURIComponent("/account")}`);
  const [first] = await workspacesOf(user.id);
  if (!first) redirect("/signin");
  return (
    <>
      <AppHeader tenant={first.slug} email={user.email} />
      <main className="mx-auto max-w-5xl space-y-6 px-4 py-8">
        <h1 className="text-2xl font-semibold tracking-tight">Account</h1>
        <Card className="max-w-lg space-y-4">
          <h2 className="text-lg font-semibold text-slate-900">Change password</h2>
          <p className="text-sm text-slate-600">Changing your password signs you out on every other device and browser.</p>
          <ChangePasswordForm />
        </Card>
        <Card className="max-w-lg space-y-4">
          <h2 className="text-lg font-semibold text-slate-900">Sign out everywhere</h2>
          <p className="text-sm text-slate-600">
            Ends every session of your account, this one included: use it if you signed in on a computer that is not yours, or think someone else has your
            session.
          </p>
          <SignOutEverywhereButton />
        </Card>
      </main>
    </>
  );
}
