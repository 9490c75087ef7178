"use client";

import { useEffect, useState, type FormEvent } from "react";
import { Alert, Button, Field } from "@/app/_components/ui";
import { useHydrated } from "@/app/_components/use-hydrated";
import { callApi } from "@/app/_lib/api-client";
import type { DomainResponse, DomainsResponse, DomainView } from "@/lib/api/domain-schemas";

/** How often the page asks for the domains' state while it is open. */
const POLL_MS = 3000;

const PHASES: Record<DomainView["phase"], { label: string; tone: string }> = {
  pending_verification: { label: "Pending verification", tone: "bg-amber-50 text-amber-800 ring-amber-600/20" },
  verified: { label: "Verified", tone: "bg-sky-50 text-sky-800 ring-sky-600/20" },
  certificate_issued: { label: "Certificate issued", tone: "bg-indigo-50 text-indigo-800 ring-indigo-600/20" },
  serving: { label: "Serving", tone: "bg-emerald-50 text-emerald-800 ring-emerald-600/20" },
  failed: { label: "Failed", tone: "bg-red-50 text-red-800 ring-red-600/20" },
};

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : "never";
}

function DnsRecordRow({ type, name, value, testId }: { type: string; name: string; value: string; testId?: string }) {
  return (
    <tr data-testid={testId}>
      <td className="py-1 pr-4 font-mono text-xs text-slate-700">{type}</td>
      <td className="py-1 pr-4 font-mono text-xs break-all text-slate-900">{name}</td>
      <td className="py-1 font-mono text-xs break-all text-slate-900" data-testid={testId ? `${testId}-value` : undefined}>
        {value}
      </td>
    </tr>
  );
}

function DomainItem({ domain, onRemove, removing }: { domain: DomainView; onRemove: () => void; removing: boolean }) {
  const phase = PHASES[domain.phase];
  const idn = domain.unicodeName !== domain.name;
  const cname = domain.records.target.filter((record) => record.type === "CNAME");
  const addresses = domain.records.target.filter((record) => record.type !== "CNAME");
  return (
    <li className="space-y-3 py-4" data-testid="domain" data-domain={domain.name}>
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div>
          <span className="font-mono text-sm font-semibold text-slate-900">{domain.unicodeName}</span>
          {idn ? (
            <span className="ml-2 font-mono text-xs text-slate-500" title="The name's ASCII (punycode) form: check that it is the one you mean.">
              ({domain.name})
            </span>
          ) : null}
          <span className={`ml-3 inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${phase.tone}`} data-testid="domain-phase">
            {phase.label}
          </span>
        </div>
        <Button type="button" variant="secondary" onClick={onRemove} disabled={removing}>
          {removing ? "Removing…" : "Remove"}
        </Button>
      </div>
      {domain.reason ? (
        <p className="text-sm text-slate-700" data-testid="domain-reason">
          {domain.reason}
        </p>
      ) : null}
      {domain.lostSince ? (
        <Alert>
          Its records have been missing since {when(domain.lostSince)}. Unless they come back, the domain is taken off the site at {when(domain.removeAt)}.
        </Alert>
      ) : null}
      {domain.state !== "verified" || domain.lostSince ? (
        <div className="rounded-md bg-slate-50 p-3">
          <p className="text-sm text-slate-700">Create these DNS records at your DNS provider:</p>
          <table className="mt-2 w-full text-left">
            <thead>
              <tr className="text-xs text-slate-500">
                <th className="pr-4 font-medium">Type</th>
                <th className="pr-4 font-medium">Name</th>
                <th className="font-medium">Value</th>
              </tr>
            </thead>
            <tbody>
              <DnsRecordRow type={domain.records.txt.type} name={domain.records.txt.name} value={domain.records.txt.value} testId="record-txt" />
              {cname.map((record) => (
                <DnsRecordRow key={`${record.type}-${record.value}`} {...record} testId="record-cname" />
              ))}
              {addresses.map((record) => (
                <DnsRecordRow key={`${record.type}-${record.value}`} {...record} testId="record-address" />
              ))}
            </tbody>
          </table>
          {cname.length > 0 && addresses.length > 0 ? (
            <p className="mt-2 text-xs text-slate-500">
              Either the CNAME or the A/AAAA records; a domain&apos;s apex (example.com itself) cannot have a CNAME, so it takes the addresses.
            </p>
          ) : null}
        </div>
      ) : null}
      <p className="text-xs text-slate-500">
        Last checked {when(domain.lastCheckedAt)}
        {domain.state !== "verified" ? `; next check ${when(domain.nextCheckAt)}` : ""}
        {domain.verifiedAt ? `; verified ${when(domain.verifiedAt)}` : ""}.
      </p>
    </li>
  );
}

export function DomainsManager(props: { tenant: string; site: string; initial: DomainView[] }) {
  const hydrated = useHydrated();
  const base = `/api/tenants/${props.tenant}/sites/${props.site}/domains`;
  const [domains, setDomains] = useState(props.initial);
  const [name, setName] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    const timer = setInterval(() => {
      void callApi<DomainsResponse>("GET", base).then((result) => {
        if (!stopped && result.ok) setDomains(result.data.domains);
      });
    }, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [base]);

  async function add(event: FormEvent) {
    event.preventDefault();
    setPending(true);
    setError(null);
    const result = await callApi<DomainResponse>("POST", base, { name });
    setPending(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    setName("");
    setDomains((list) => [...list, result.data.domain]);
  }

  async function remove(domain: string) {
    setRemoving(domain);
    setError(null);
    const result = await callApi<void>("DELETE", `${base}/${encodeURIComponent(domain)}`);
    setRemoving(null);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    setDomains((list) => list.filter((item) => item.name !== domain));
  }

  return (
    <div className="space-y-4">
      <form
        onSubmit={(event) => void add(event)}
        className="flex flex-wrap items-end gap-3"
        aria-label="Add a domain"
        data-hydrated={hydrated ? "true" : "false"}
      >
        <div className="min-w-64 flex-1">
          <Field
            id="domain-name"
            label="Domain"
            placeholder="www.example.com"
            value={name}
            onChange={(event) => setName(event.target.value)}
            autoComplete="off"
            spellCheck={false}
            hint="A name you control, such as www.example.com. Names with accents or other scripts are shown with their punycode form."
          />
        </div>
        <Button type="submit" disabled={!hydrated || pending || name.trim() === ""}>
          {pending ? "Adding…" : "Add domain"}
        </Button>
      </form>
      {error ? <Alert>{error}</Alert> : null}
      {domains.length === 0 ? (
        <p className="text-sm text-slate-500">No custom domains yet.</p>
      ) : (
        <ul className="divide-y divide-slate-200" aria-label="Domains">
          {domains.map((domain) => (
            <DomainItem key={domain.name} domain={domain} removing={removing === domain.name} onRemove={() => void remove(domain.name)} />
          ))}
        </ul>
      )}
    </div>
  );
}
