import type { Metadata } from "next";
import Link from "next/link";
import { Breadcrumb } from "@/app/_components/breadcrumb";
import { Card } from "@/app/_components/ui";
import { orNotFound, pageActor } from "@/lib/auth/page";
import { abilitiesOf } from "@/lib/tenancy/access";
import { getSiteSettings } from "@/lib/sites/settings";
import { RulesView } from "./rules-view";
import { SettingsForm } from "./settings-form";

type Params = Promise<{ tenant: string; site: string }>;

export const dynamic = "force-dynamic";

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  return { title: `${(await params).site} · settings` };
}

export default async function SiteSettingsPage({ params }: { params: Params }) {
  const { tenant, site } = await params;
  const { actor } = await pageActor(tenant, `/w/${tenant}/sites/${site}/settings`);
  const settings = await orNotFound(getSiteSettings(actor, site));
  const sitePath = `/w/${actor.tenantSlug}/sites/${site}`;
  return (
    <div className="space-y-6">
      <Breadcrumb
        trail={[
          { href: `/w/${actor.tenantSlug}`, label: "Sites" },
          { href: sitePath, label: site },
        ]}
        current="Settings"
      />
      <h1 className="text-2xl font-semibold tracking-tight">Site settings</h1>
      <Card className="space-y-4">
        <div>
          <h2 className="text-lg font-semibold text-slate-900">Serving</h2>
          <p className="mt-1 text-sm text-slate-600">
            What visitors get for a path that matches no file. A change goes live like a deploy: the site keeps serving while the new configuration rolls out,
            and the change shows in the{" "}
            <Link href={sitePath} className="text-indigo-700 hover:underline">
              history
            </Link>
            .
          </p>
        </div>
        {abilitiesOf(actor).change ? (
          <SettingsForm
            tenant={actor.tenantSlug}
            site={site}
            spa={settings.spa}
            notFoundPage={settings.notFoundPage}
            serving={settings.serving}
            pages={settings.pages}
            hasDeploy={settings.deploy !== null}
          />
        ) : (
          <p className="text-sm text-slate-700" data-testid="settings-read-only">
            {settings.spa
              ? "Single-page app: every path without a file gets index.html."
              : settings.notFoundPage
                ? `Paths without a file get ${settings.notFoundPage} with status 404.`
                : "Paths without a file get the standard 404 page."}{" "}
            {settings.serving === "shared" ? "Served by the shared pool." : "Served by its own pods."} Viewers cannot change this.
          </p>
        )}
      </Card>
      <Card className="space-y-4">
        <div>
          <h2 className="text-lg font-semibold text-slate-900">Redirects and headers</h2>
          <p className="mt-1 text-sm text-slate-600">
            The <span className="font-mono">_redirects</span> and <span className="font-mono">_headers</span> files of the deploy the site is pointed at
            {settings.deploy?.shortDigest ? (
              <>
                {" "}
                (<span className="font-mono">{settings.deploy.shortDigest}</span>)
              </>
            ) : null}
            , read-only: they change with a deploy.
          </p>
        </div>
        <RulesView rules={settings.rules} />
      </Card>
    </div>
  );
}
