import { AppHeader } from "@/app/_components/app-header";
import { pageActor } from "@/lib/auth/page";

export default async function WorkspaceLayout({ children, params }: { children: React.ReactNode; params: Promise<{ tenant: string }> }) {
  const { tenant } = await params;
  const { user, actor } = await pageActor(tenant, `/w/${tenant}`);
  return (
    <>
      <AppHeader tenant={actor.tenantSlug} email={user.email} />
      <main className="mx-auto max-w-5xl px-4 py-8">{children}</main>
    </>
  );
}
