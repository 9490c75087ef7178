import type { Metadata } from "next";
import Link from "next/link";
import { Card } from "@/app/_components/ui";
import { CreateSiteForm } from "@/app/_components/create-site-form";
import { SiteListUpdates } from "@/app/_components/site-list-updates";
import { SiteRows, type SiteRowData } from "@/app/_components/site-rows";
import { listPhaseOf } from "@/lib/publishing/live-status";
import { pageActor } from "@/lib/auth/page";
import { abilitiesOf } from "@/lib/tenancy/access";
import { getConfig } from "@/lib/config";
import { listSitePage, pageNumber, SITES_PER_PAGE, type SitePage } from "@/lib/sites/sites";

export const metadata: Metadata = { title: "Sites" };

/** Made once: toLocaleString builds a new formatter on every call. */
const COUNT = new Intl.NumberFormat("en");
const count = (n: number) => COUNT.format(n);

export default async function WorkspacePage({
  params,
  searchParams,
}: {
  params: Promise<{ tenant: string }>;
  searchParams: Promise<{ page?: string | string[] }>;
}) {
  const { tenant } = await params;
  const { actor } = await pageActor(tenant, `/w/${tenant}`);
  const list = await listSitePage(actor, pageNumber((await searchParams).page));
  const sites = list.sites;
  return (
    <div className="space-y-8">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Sites</h1>
        <p className="mt-1 text-sm text-slate-600">Each site gets its own address. Upload a zip of your built site to put it online.</p>
      </div>
      {abilitiesOf(actor).change ? (
        <Card>
          <h2 className="mb-4 text-base font-semibold">New site</h2>
          <CreateSiteForm tenant={actor.tenantSlug} baseDomain={getConfig().PAGODA_BASE_DOMAIN} />
        </Card>
      ) : null}
      <section aria-labelledby="site-list-heading">
        <SiteListUpdates tenant={actor.tenantSlug} sites={sites.map((site) => site.name)} />
        <h2 id="site-list-heading" className="mb-3 text-base font-semibold">
          Your sites{list.total > SITES_PER_PAGE ? ` (${count(list.total)})` : ""}
        </h2>
        {sites.length === 0 && list.total > 0 ? (
          <p className="text-sm text-slate-600">
            There is no page {list.page}.{" "}
            <Link href={`/w/${actor.tenantSlug}`} className="font-medium text-indigo-700 hover:underline">
              Go to the first page
            </Link>
          </p>
        ) : sites.length === 0 ? (
          <div className="rounded-lg border-2 border-dashed border-slate-300 px-6 py-12 text-center">
            <p className="font-medium text-slate-800">No sites yet</p>
            <p className="mt-1 text-sm text-slate-600">
              {abilitiesOf(actor).change
                ? "Create your first site above; it takes a name and a second."
                : "Members and owners of this workspace create its sites."}
            </p>
          </div>
        ) : (
          <SiteRows
            tenant={actor.tenantSlug}
            rows={sites.map((site): SiteRowData => [
              site.name,
              site.url,
              site.deployCount,
              // From the status watch's cache: no request to the cluster per row.
              site.targetDigest ? listPhaseOf(actor.tenantSlug, site.name, site.targetDigest) : null,
            ])}
          />
        )}
        <Pagination tenant={actor.tenantSlug} list={list} />
      </section>
    </div>
  );
}

/** Newer and older pages: a workspace can hold more sites than one page should render. */
function Pagination({ tenant, list }: { tenant: string; list: SitePage }) {
  if (list.pageCount <= 1 || list.sites.length === 0) return null;
  const first = (list.page - 1) * SITES_PER_PAGE + 1;
  const link = "rounded-md px-3 py-1.5 font-medium text-indigo-700 ring-1 ring-inset ring-slate-300 hover:bg-slate-50";
  const href = (page: number) => (page === 1 ? `/w/${tenant}` : `/w/${tenant}?page=${page}`);
  return (
    <nav aria-label="Site list pages" className="mt-4 flex items-center justify-between text-sm text-slate-600">
      <span>
        Sites {count(first)}–{count(first + list.sites.length - 1)} of {count(list.total)}
      </span>
      <span className="flex gap-2">
        {list.page > 1 ? (
          <Link href={href(list.page - 1)} className={link}>
            Newer
          </Link>
        ) : null}
        {list.page < list.pageCount ? (
          <Link href={href(list.page + 1)} className={link}>
            Older
          </Link>
        ) : null}
      </span>
    </nav>
  );
}
