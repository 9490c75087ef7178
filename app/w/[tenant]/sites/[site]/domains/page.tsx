import type { Metadata } from "next";
import { Breadcrumb } from "@/app/_components/breadcrumb";
import { Alert, Card } from "@/app/_components/ui";
import { orNotFound, pageActor } from "@/lib/auth/page";
import { listDomains } from "@/lib/domains/domains";
import { getSite } from "@/lib/sites/sites";
import { DomainsManager } from "./domains-manager";

type Params = Promise<{ tenant: string; site: string }>;

export const dynamic = "force-dynamic";

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  return { title: `${(await params).site} · domains` };
}

export default async function SiteDomainsPage({ params }: { params: Params }) {
  const { tenant, site: name } = await params;
  const { actor } = await pageActor(tenant, `/w/${tenant}/sites/${name}/domains`);
  const site = await orNotFound(getSite(actor, name));
  const sitePath = `/w/${actor.tenantSlug}/sites/${site.name}`;
  const owner = actor.role === "owner";
  return (
    <div className="space-y-6">
      <Breadcrumb
        trail={[
          { href: `/w/${actor.tenantSlug}`, label: "Sites" },
          { href: sitePath, label: site.name },
        ]}
        current="Domains"
      />
      <h1 className="text-2xl font-semibold tracking-tight">Custom domains</h1>
      <Card className="space-y-4">
        <p className="text-sm text-slate-600">
          The site always answers at <span className="font-mono">{site.url}</span>. Add a domain of your own, create the DNS records shown for it, and it is
          served once the records are seen: the check runs by itself, again and again until they are.
        </p>
        {owner ? (
          <DomainsManager tenant={actor.tenantSlug} site={site.name} initial={await listDomains(actor, site.name)} />
        ) : (
          <Alert tone="info">Only owners of this workspace can see and change a site&apos;s custom domains.</Alert>
        )}
      </Card>
    </div>
  );
}
