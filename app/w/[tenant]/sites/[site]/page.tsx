import type { Metadata } from "next";
import Link from "next/link";
import { Breadcrumb } from "@/app/_components/breadcrumb";
import { Card } from "@/app/_components/ui";
import { DeleteSiteDialog } from "@/app/_components/delete-site-dialog";
import { DeployHistory } from "@/app/_components/deploy-history";
import { RelativeTime } from "@/app/_components/relative-time";
import { UploadPanel } from "@/app/_components/upload-panel";
import { listDeploys } from "@/lib/deploys/list";
import { quotasOf } from "@/lib/tenancy/quotas";
import { SiteStatus } from "@/app/_components/site-status";
import { liveStatusOf } from "@/lib/publishing/live-status";
import { orNotFound, pageActor } from "@/lib/auth/page";
import { abilitiesOf } from "@/lib/tenancy/access";
import { getSite } from "@/lib/sites/sites";
import { listSettingsChanges } from "@/lib/sites/settings";

type Params = Promise<{ tenant: string; site: string }>;

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  return { title: (await params).site };
}

export default async function SitePage({ params }: { params: Params }) {
  const { tenant, site: name } = await params;
  const { actor } = await pageActor(tenant, `/w/${tenant}/sites/${name}`);
  const site = await orNotFound(getSite(actor, name));
  const [deploys, settingsChanges, quotas] = await Promise.all([
    listDeploys(actor, site.name),
    listSettingsChanges(actor, site.name),
    quotasOf(actor.tenantId),
  ]);
  const targetDigest = deploys.find((deploy) => deploy.isTarget)?.digest ?? null;
  const can = abilitiesOf(actor);
  return (
    <div className="space-y-6">
      <Breadcrumb trail={[{ href: `/w/${actor.tenantSlug}`, label: "Sites" }]} current={site.name} />
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">{site.name}</h1>
          <p className="mt-1 text-sm text-slate-600">
            Address:{" "}
            <span className="font-mono" data-testid="site-url">
              {site.url}
            </span>
          </p>
          <p className="mt-1 text-xs text-slate-500">
            Created <RelativeTime iso={new Date(site.createdAt).toISOString()} />
          </p>
        </div>
        <div className="flex items-center gap-3">
          <Link
            href={`/w/${actor.tenantSlug}/sites/${site.name}/settings`}
            className="rounded-md px-3 py-2 text-sm font-semibold text-slate-900 ring-1 ring-inset ring-slate-300 hover:bg-slate-50"
          >
            Site settings
          </Link>
          {can.administer ? (
            <Link
              href={`/w/${actor.tenantSlug}/sites/${site.name}/domains`}
              className="rounded-md px-3 py-2 text-sm font-semibold text-slate-900 ring-1 ring-inset ring-slate-300 hover:bg-slate-50"
            >
              Domains
            </Link>
          ) : null}
          {can.administer ? <DeleteSiteDialog tenant={actor.tenantSlug} site={site.name} /> : null}
        </div>
      </div>
      <Card>
        <h2 className="mb-3 text-base font-semibold">Status</h2>
        <SiteStatus
          key={targetDigest ?? "none"}
          tenant={actor.tenantSlug}
          site={site.name}
          url={site.url}
          initial={liveStatusOf(actor.tenantSlug, site.name, targetDigest)}
        />
      </Card>
      {can.change ? (
        <Card>
          <h2 className="mb-4 text-base font-semibold">New deploy</h2>
          <UploadPanel tenant={actor.tenantSlug} site={site.name} maxBytes={quotas.maxArchiveBytes} />
        </Card>
      ) : (
        <p className="text-sm text-slate-600" data-testid="viewer-read-only">
          You are a viewer of this workspace: you can see its sites and deploys, but not change them.
        </p>
      )}
      <Card>
        <h2 className="mb-2 text-base font-semibold">Deploys</h2>
        <DeployHistory deploys={deploys} settingsChanges={settingsChanges} tenant={actor.tenantSlug} site={site.name} canPromote={can.change} />
      </Card>
    </div>
  );
}
