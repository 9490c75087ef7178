import { PromoteButton } from "@/app/_components/promote-button";
import { RelativeTime } from "@/app/_components/relative-time";
import type { DeployView } from "@/lib/deploys/view";
import type { SettingsChangeView } from "@/lib/sites/settings";

const SOURCE_LABELS: Record<DeployView["source"], string> = { browser: "browser", cli: "CLI", api: "API" };

/** Who sent a deploy: the person, or the API token (by the name it had then). */
function deployedBy(createdBy: DeployView["createdBy"]): string {
  if (!createdBy) return "a removed account";
  return createdBy.kind === "user" ? createdBy.name : `token “${createdBy.name}”`;
}

const STATE_STYLES: Record<DeployView["state"], string> = {
  processing: "bg-slate-100 text-slate-700",
  ready: "bg-sky-100 text-sky-800",
  live: "bg-emerald-100 text-emerald-800",
  superseded: "bg-slate-100 text-slate-600",
  failed: "bg-red-100 text-red-800",
};

function formatSize(bytes: number | null): string {
  if (bytes === null) return "";
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function SettingsChange({ change }: { change: SettingsChangeView }) {
  return (
    <li data-testid="settings-change" className="py-3">
      <p className="text-sm text-slate-800">Settings changed: {change.summary}</p>
      <p className="text-xs text-slate-500">
        <span data-testid="settings-change-by">
          {change.by ? (change.by.kind === "user" ? change.by.name : `token “${change.by.name}”`) : "a removed account"}
        </span>{" "}
        · <RelativeTime iso={change.createdAt} />
      </p>
    </li>
  );
}

export function DeployHistory({
  deploys,
  settingsChanges = [],
  tenant,
  site,
  canPromote = true,
}: {
  deploys: DeployView[];
  /** Changes of the site's settings, shown among the deploys by time. */
  settingsChanges?: SettingsChangeView[];
  tenant: string;
  site: string;
  /** False for a viewer: the server refuses a promotion from them anyway. */
  canPromote?: boolean;
}) {
  // Both lists are newest first; merged by time, a change shows between the deploys it came between.
  const entries = [...deploys.map((deploy) => ({ at: deploy.createdAt, deploy })), ...settingsChanges.map((change) => ({ at: change.createdAt, change }))].sort(
    (a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0),
  );
  if (entries.length === 0) {
    return <p className="text-sm text-slate-600">No deploys yet. Drop a folder or a zip above to publish the first version.</p>;
  }
  return (
    <ol aria-label="Deploy history" className="divide-y divide-slate-200">
      {entries.map((entry) => {
        if ("change" in entry) return <SettingsChange key={entry.change.id} change={entry.change} />;
        const { deploy } = entry;
        return (
          <li key={deploy.id} data-testid="deploy" data-state={deploy.state} className="flex flex-wrap items-center justify-between gap-2 py-3">
            <div className="min-w-0">
              <p className="flex flex-wrap items-baseline gap-x-2">
                <span className="font-mono text-sm text-slate-900" title={deploy.digest ?? undefined}>
                  {deploy.shortDigest ?? "—"}
                </span>
                {deploy.message ? (
                  <span className="break-words text-sm text-slate-800" data-testid="deploy-message">
                    {deploy.message}
                  </span>
                ) : null}
              </p>
              <p className="text-xs text-slate-500">
                <span data-testid="deploy-by">{deployedBy(deploy.createdBy)}</span> ·{" "}
                <span data-testid="deploy-source">via {SOURCE_LABELS[deploy.source]}</span> · <RelativeTime iso={deploy.createdAt} /> · {deploy.fileCount ?? 0}{" "}
                files · {formatSize(deploy.sizeBytes)}
              </p>
              {deploy.error ? <p className="mt-1 text-sm text-red-700">{deploy.error}</p> : null}
            </div>
            <div className="flex items-center gap-3">
              {deploy.previewUrl ? (
                <a
                  href={deploy.previewUrl}
                  target="_blank"
                  rel="noopener noreferrer"
                  data-testid="deploy-preview"
                  className="text-xs font-medium text-indigo-600 hover:text-indigo-500"
                >
                  Preview
                </a>
              ) : null}
              {deploy.isTarget ? (
                <span className="text-xs text-slate-500">current target</span>
              ) : deploy.digest && canPromote ? (
                <PromoteButton
                  tenant={tenant}
                  site={site}
                  deployId={deploy.id}
                  label={deploy.state === "superseded" || deploy.state === "live" ? "Roll back to this" : "Promote"}
                />
              ) : null}
              <span className={`rounded-full px-2.5 py-0.5 text-xs font-medium ${STATE_STYLES[deploy.state]}`}>{deploy.state}</span>
            </div>
          </li>
        );
      })}
    </ol>
  );
}
