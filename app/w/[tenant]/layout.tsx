import { AppHeader } from "@/app/_components/app-header";
import { VerifyEmailBanner } from "@/app/_components/email-flows";
import { verificationBanner } from "@/lib/accounts/email-verification";
import { pageActor } from "@/lib/auth/page";
import { abilitiesOf, workspacesOf } from "@/lib/tenancy/access";

export default async function WorkspaceLayout({ children, params }: { children: React.ReactNode; params: Promise<{ tenant: string }> }) {
  const { tenant } = await params;
  const { user, actor } = await pageActor(tenant, `/w/${tenant}`);
  const [banner, workspaces] = await Promise.all([verificationBanner(user), workspacesOf(user.id)]);
  return (
    <>
      <AppHeader tenant={actor.tenantSlug} email={user.email} administer={abilitiesOf(actor).administer} workspaces={workspaces} />
      {banner ? <VerifyEmailBanner email={banner.email} lastSendFailed={banner.lastSendFailed} /> : null}
      <main className="mx-auto max-w-5xl px-4 py-8">{children}</main>
    </>
  );
}
