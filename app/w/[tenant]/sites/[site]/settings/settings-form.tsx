"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { Alert, Button } from "@/app/_components/ui";
import { useHydrated } from "@/app/_components/use-hydrated";
import { callApi } from "@/app/_lib/api-client";
import type { SiteSettingsResponse } from "@/lib/api/schemas";
import type { ServingMode } from "@/lib/staticsite/types";

const NONE = "";

const SERVING_CHOICES: { value: ServingMode; label: string; hint: string }[] = [
  { value: "dedicated", label: "Its own pods", hint: "The site runs its own nginx pods, for sites that need replicas of their own." },
  {
    value: "shared",
    label: "Shared pool",
    hint: "The platform's pool of nginx replicas serves the site: no pods of its own, and new deploys go live without a rollout.",
  },
];

export function SettingsForm(props: {
  tenant: string;
  site: string;
  spa: boolean;
  notFoundPage: string | null;
  serving: ServingMode;
  pages: string[];
  hasDeploy: boolean;
}) {
  const router = useRouter();
  const hydrated = useHydrated();
  const [spa, setSpa] = useState(props.spa);
  const [page, setPage] = useState(props.notFoundPage ?? NONE);
  const [serving, setServing] = useState(props.serving);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const combined = spa && page !== NONE;
  const unchanged = spa === props.spa && page === (props.notFoundPage ?? NONE) && serving === props.serving;
  // A page chosen for an earlier deploy stays listed, marked, so the form shows what is set.
  const choices = props.notFoundPage !== null && !props.pages.includes(props.notFoundPage) ? [props.notFoundPage, ...props.pages] : props.pages;

  async function save(event: FormEvent) {
    event.preventDefault();
    setPending(true);
    setError(null);
    setSaved(null);
    const result = await callApi<SiteSettingsResponse>("PATCH", `/api/tenants/${props.tenant}/sites/${props.site}/settings`, {
      spa,
      notFoundPage: page === NONE ? null : page,
      serving,
    });
    setPending(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    setSaved("Saved. The new configuration is rolling out; the site keeps serving meanwhile.");
    router.refresh();
  }

  return (
    <form onSubmit={(event) => void save(event)} className="space-y-5" aria-label="Serving settings">
      <div className="flex items-start gap-3">
        <input
          id="spa"
          name="spa"
          type="checkbox"
          checked={spa}
          onChange={(event) => setSpa(event.target.checked)}
          aria-describedby="spa-hint"
          className="mt-1 h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-600"
        />
        <div>
          <label htmlFor="spa" className="text-sm font-medium text-slate-800">
            SPA fallback
          </label>
          <p id="spa-hint" className="text-xs text-slate-500">
            Paths that match no file serve <span className="font-mono">/index.html</span> with status 200, for apps that route in the browser (React Router, Vue
            Router…).
          </p>
        </div>
      </div>
      <div>
        <label htmlFor="notFoundPage" className="block text-sm font-medium text-slate-800">
          Custom 404 page
        </label>
        <select
          id="notFoundPage"
          name="notFoundPage"
          value={page}
          onChange={(event) => setPage(event.target.value)}
          aria-describedby="notFoundPage-hint"
          className="mt-1 block w-full max-w-md rounded-md border-0 px-3 py-2 text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600 sm:text-sm"
        >
          <option value={NONE}>None: the platform&apos;s 404 page</option>
          {choices.map((path) => (
            <option key={path} value={path}>
              {props.pages.includes(path) ? path : `${path} (not in the current deploy)`}
            </option>
          ))}
        </select>
        <p id="notFoundPage-hint" className="mt-1 text-xs text-slate-500">
          {props.hasDeploy
            ? "An .html file of the deploy the site is pointed at, served with status 404 for paths that match no file. Names with spaces or characters other than letters, digits and . _ ~ / - cannot be chosen."
            : "Deploy the site first: the 404 page is one of its files."}
        </p>
      </div>
      <fieldset>
        <legend className="text-sm font-medium text-slate-800">Serving</legend>
        <div className="mt-1 space-y-2">
          {SERVING_CHOICES.map((choice) => (
            <div key={choice.value} className="flex items-start gap-3">
              <input
                id={`serving-${choice.value}`}
                name="serving"
                type="radio"
                value={choice.value}
                checked={serving === choice.value}
                onChange={() => setServing(choice.value)}
                aria-describedby={`serving-${choice.value}-hint`}
                className="mt-1 h-4 w-4 border-slate-300 text-indigo-600 focus:ring-indigo-600"
              />
              <div>
                <label htmlFor={`serving-${choice.value}`} className="text-sm text-slate-800">
                  {choice.label}
                </label>
                <p id={`serving-${choice.value}-hint`} className="text-xs text-slate-500">
                  {choice.hint}
                </p>
              </div>
            </div>
          ))}
        </div>
      </fieldset>
      {combined ? (
        <Alert tone="info">
          The SPA fallback and a custom 404 page cannot be combined: with the fallback on, every unknown path serves /index.html, so no 404 page would ever
          show. Turn the fallback off, or choose “None”.
        </Alert>
      ) : null}
      {error ? <Alert>{error}</Alert> : null}
      {saved ? (
        <p role="status" data-testid="settings-saved" className="text-sm text-emerald-700">
          {saved}
        </p>
      ) : null}
      <Button type="submit" disabled={!hydrated || pending || combined || unchanged}>
        {pending ? "Saving…" : "Save settings"}
      </Button>
    </form>
  );
}
