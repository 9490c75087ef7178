import type { Metadata } from "next";
import Link from "next/link";
import { ZodError } from "zod";
import { Breadcrumb } from "@/app/_components/breadcrumb";
import { Alert, Button, Card } from "@/app/_components/ui";
import { auditFilterOptions, listAuditEvents, parseAuditQuery } from "@/lib/accounts/audit-log";
import type { AuditEventView, AuditQuery } from "@/lib/api/audit-schemas";
import { pageActor } from "@/lib/auth/page";
import { DomainError, ForbiddenError } from "@/lib/errors";
import { actionLabel, detailPairs } from "./labels";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Audit log" };

type SearchParams = Record<string, string | string[] | undefined>;

function queryString(query: Partial<AuditQuery>): string {
  const params = new URLSearchParams();
  for (const key of ["person", "action", "site", "cursor", "format"] as const) {
    const value = query[key];
    if (value) params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

function problemOf(error: unknown): string | null {
  if (error instanceof ZodError) return error.issues.map((issue) => issue.message).join(" ");
  if (error instanceof DomainError && !(error instanceof ForbiddenError)) return error.message;
  return null;
}

function who(event: AuditEventView): string {
  const { actor } = event;
  if (actor.tokenName) return `token ${actor.tokenName}`;
  if (actor.name) return actor.name;
  if (actor.userId) return "a deleted account";
  return "Pagoda";
}

const time = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

export default async function AuditPage({ params, searchParams }: { params: Promise<{ tenant: string }>; searchParams: Promise<SearchParams> }) {
  const { tenant } = await params;
  const { actor } = await pageActor(tenant, `/w/${tenant}/audit`);
  const base = `/w/${actor.tenantSlug}/audit`;

  let query: AuditQuery = {};
  let page: Awaited<ReturnType<typeof listAuditEvents>> | null = null;
  let options: Awaited<ReturnType<typeof auditFilterOptions>> | null = null;
  let problem: string | null = null;
  let ownersOnly = false;
  try {
    options = await auditFilterOptions(actor);
    query = parseAuditQuery(await searchParams);
    page = await listAuditEvents(actor, query);
  } catch (error) {
    if (error instanceof ForbiddenError) ownersOnly = true;
    else {
      problem = problemOf(error);
      if (problem === null) throw error;
      query = {};
    }
  }

  return (
    <div className="space-y-6">
      <Breadcrumb trail={[{ href: `/w/${actor.tenantSlug}`, label: "Sites" }]} current="Audit log" />
      <h1 className="text-2xl font-semibold tracking-tight">Audit log</h1>
      {ownersOnly || !options ? (
        <Card>
          <p className="text-sm text-slate-700" data-testid="audit-owners-only">
            Only owners of this workspace can see its audit log. Ask an owner.
          </p>
        </Card>
      ) : (
        <>
          <Card className="space-y-4">
            <p className="text-sm text-slate-600">
              What was done in this workspace, newest first: sites, deploys, settings, members, domains and API tokens, by whom, from where, and whether it
              worked.
            </p>
            <form method="get" action={base} className="flex flex-wrap items-end gap-3" aria-label="Filter the audit log">
              <div className="text-sm text-slate-700">
                <label htmlFor="audit-person" className="block font-medium">
                  Person
                </label>
                <select
                  id="audit-person"
                  name="person"
                  defaultValue={query.person ?? ""}
                  className="mt-1 rounded-md border border-slate-300 px-2 py-1.5 text-sm"
                >
                  <option value="">Everyone</option>
                  {options.people.map((person) => (
                    <option key={person.value} value={person.value}>
                      {person.label}
                    </option>
                  ))}
                </select>
              </div>
              <div className="text-sm text-slate-700">
                <label htmlFor="audit-action" className="block font-medium">
                  Action
                </label>
                <select
                  id="audit-action"
                  name="action"
                  defaultValue={query.action ?? ""}
                  className="mt-1 rounded-md border border-slate-300 px-2 py-1.5 text-sm"
                >
                  <option value="">Every action</option>
                  {options.actions.map((action) => (
                    <option key={action} value={action}>
                      {actionLabel(action)} ({action})
                    </option>
                  ))}
                </select>
              </div>
              <div className="text-sm text-slate-700">
                <label htmlFor="audit-site" className="block font-medium">
                  Site
                </label>
                <select id="audit-site" name="site" defaultValue={query.site ?? ""} className="mt-1 rounded-md border border-slate-300 px-2 py-1.5 text-sm">
                  <option value="">Every site</option>
                  {options.sites.map((site) => (
                    <option key={site} value={site}>
                      {site}
                    </option>
                  ))}
                </select>
              </div>
              <Button type="submit" variant="secondary">
                Filter
              </Button>
              <Link href={base} className="px-1 py-2 text-sm text-slate-600 hover:text-slate-900">
                Clear
              </Link>
              <a
                href={`/api/tenants/${actor.tenantSlug}/audit${queryString({ ...query, cursor: undefined, format: "csv" })}`}
                className="ml-auto rounded-md px-3 py-2 text-sm font-semibold text-indigo-700 ring-1 ring-inset ring-indigo-200 hover:bg-indigo-50"
                data-testid="audit-csv"
                download
              >
                Download CSV
              </a>
            </form>
            {problem ? <Alert>{problem}</Alert> : null}
          </Card>
          {page ? (
            <Card className="overflow-x-auto p-0">
              {page.events.length === 0 ? (
                <p className="p-6 text-sm text-slate-600" data-testid="audit-empty">
                  No events match.
                </p>
              ) : (
                <table className="min-w-full divide-y divide-slate-200 text-sm" data-testid="audit-table">
                  <thead className="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                    <tr>
                      <th className="px-4 py-2">When</th>
                      <th className="px-4 py-2">Who</th>
                      <th className="px-4 py-2">What</th>
                      <th className="px-4 py-2">Site</th>
                      <th className="px-4 py-2">Outcome</th>
                      <th className="px-4 py-2">Details</th>
                    </tr>
                  </thead>
                  <tbody className="divide-y divide-slate-100">
                    {page.events.map((event) => (
                      <tr key={event.id} data-testid="audit-row" data-action={event.action} className="align-top">
                        <td className="whitespace-nowrap px-4 py-2 text-slate-600">
                          <time dateTime={event.createdAt}>{time(event.createdAt)}</time>
                        </td>
                        <td className="px-4 py-2">
                          <span className="font-medium text-slate-900">{who(event)}</span>
                          {event.actor.email ? <span className="block text-xs text-slate-500">{event.actor.email}</span> : null}
                          {event.ip ? <span className="block text-xs text-slate-500">from {event.ip}</span> : null}
                        </td>
                        <td className="px-4 py-2">
                          <span className="text-slate-900">{actionLabel(event.action)}</span>
                          <span className="block font-mono text-xs text-slate-500">{event.action}</span>
                          {event.target && !event.site ? <span className="block text-xs text-slate-600">{event.target}</span> : null}
                        </td>
                        <td className="px-4 py-2 font-mono text-xs text-slate-700">{event.site ?? ""}</td>
                        <td className="px-4 py-2">
                          <span
                            className={`rounded px-1.5 py-0.5 text-xs font-medium ${event.outcome === "success" ? "bg-emerald-50 text-emerald-800" : "bg-red-50 text-red-800"}`}
                          >
                            {event.outcome}
                          </span>
                        </td>
                        <td className="px-4 py-2 text-xs text-slate-600">
                          {detailPairs(event.details).map(([key, value]) => (
                            <span key={key} className="block break-all">
                              <span className="text-slate-500">{key}:</span> {value}
                            </span>
                          ))}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Card>
          ) : null}
          <nav className="flex justify-between text-sm" aria-label="Pages">
            {query.cursor ? (
              <Link href={`${base}${queryString({ ...query, cursor: undefined })}`} className="font-medium text-indigo-700 hover:text-indigo-500">
                ← Newest
              </Link>
            ) : (
              <span />
            )}
            {page?.nextCursor ? (
              <Link
                href={`${base}${queryString({ ...query, cursor: page.nextCursor })}`}
                className="font-medium text-indigo-700 hover:text-indigo-500"
                data-testid="audit-older"
              >
                Older events →
              </Link>
            ) : null}
          </nav>
        </>
      )}
    </div>
  );
}
