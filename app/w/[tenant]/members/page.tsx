import type { Metadata } from "next";
import { Breadcrumb } from "@/app/_components/breadcrumb";
import { Card } from "@/app/_components/ui";
import { listInvitations } from "@/lib/accounts/invitations";
import { pageActor } from "@/lib/auth/page";
import { abilitiesOf } from "@/lib/tenancy/access";
import { listMembers } from "@/lib/tenancy/members";
import { LeaveWorkspace, MembersManager } from "./members-manager";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Members" };

export default async function MembersPage({ params }: { params: Promise<{ tenant: string }> }) {
  const { tenant } = await params;
  const { user, actor } = await pageActor(tenant, `/w/${tenant}/members`);
  const owner = abilitiesOf(actor).administer;
  const [members, invitations] = owner ? await Promise.all([listMembers(actor), listInvitations(actor)]) : [null, null];
  return (
    <div className="space-y-6">
      <Breadcrumb trail={[{ href: `/w/${actor.tenantSlug}`, label: "Sites" }]} current="Members" />
      <h1 className="text-2xl font-semibold tracking-tight">Members</h1>
      <Card className="space-y-4">
        {members && invitations ? (
          <MembersManager tenant={actor.tenantSlug} me={user.id} members={members} invitations={invitations} />
        ) : (
          <>
            <p className="text-sm text-slate-700" data-testid="members-owners-only">
              You are {actor.role === "viewer" ? "a viewer" : "a member"} of this workspace. Only its owners see and manage its members.
            </p>
            <LeaveWorkspace tenant={actor.tenantSlug} me={user.id} />
          </>
        )}
      </Card>
    </div>
  );
}
