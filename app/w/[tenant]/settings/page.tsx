import type { Metadata } from "next";
import { Breadcrumb } from "@/app/_components/breadcrumb";
import { Card } from "@/app/_components/ui";
import { listApiTokens } from "@/lib/auth/api-tokens";
import { pageActor } from "@/lib/auth/page";
import { TokenManager } from "./token-manager";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Workspace settings" };

export default async function SettingsPage({ params }: { params: Promise<{ tenant: string }> }) {
  const { tenant } = await params;
  const { actor } = await pageActor(tenant, `/w/${tenant}/settings`);
  const tokens = actor.role === "owner" ? await listApiTokens(actor) : null;
  return (
    <div className="space-y-6">
      <Breadcrumb trail={[{ href: `/w/${actor.tenantSlug}`, label: "Sites" }]} current="Settings" />
      <h1 className="text-2xl font-semibold tracking-tight">Workspace settings</h1>
      <Card className="space-y-4">
        <div>
          <h2 className="text-lg font-semibold text-slate-900">API tokens</h2>
          <p className="mt-1 text-sm text-slate-600">
            A token lets the <span className="font-mono">pagoda</span> command line and build pipelines read this workspace&apos;s sites or deploy to them,
            without a browser. It acts only in this workspace and only within its scopes.
          </p>
        </div>
        {tokens ? (
          <TokenManager tenant={actor.tenantSlug} tokens={tokens} />
        ) : (
          <p className="text-sm text-slate-700" data-testid="tokens-owners-only">
            Only owners of this workspace can create, see and revoke its API tokens. Ask an owner for one.
          </p>
        )}
      </Card>
    </div>
  );
}
