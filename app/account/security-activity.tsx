import Link from "next/link";
import type { SecurityActivity } from "@/lib/accounts/security-activity";
import { eventLabel } from "@/app/w/[tenant]/audit/labels";

const time = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

function reasonOf(details: unknown): string | null {
  if (!details || typeof details !== "object" || Array.isArray(details)) return null;
  const reason = (details as Record<string, unknown>).reason;
  return typeof reason === "string" ? reason : null;
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** The person's own account events, newest first, one bounded page with a link to older ones. */
export function SecurityActivityList({ activity, paged }: { activity: SecurityActivity; paged: boolean }) {
  return (
    <div className="space-y-3">
      {activity.events.length === 0 ? (
        <p className="text-sm text-slate-600" data-testid="activity-empty">
          Nothing recorded yet.
        </p>
      ) : (
        <ul className="divide-y divide-slate-100 text-sm" data-testid="activity-list">
          {activity.events.map((event) => {
            const reason = event.outcome === "failure" ? reasonOf(event.details) : null;
            return (
              <li key={event.id} className="py-2" data-testid="activity-row" data-action={event.action} data-outcome={event.outcome}>
                <span className="font-medium text-slate-900">{capitalised(eventLabel(event.action, event.details))}</span>
                {event.outcome === "failure" ? (
                  <span className="ml-2 rounded bg-red-50 px-1.5 py-0.5 text-xs font-medium text-red-800">failed{reason ? `: ${reason}` : ""}</span>
                ) : null}
                <span className="block text-xs text-slate-500">
                  <time dateTime={event.createdAt}>{time(event.createdAt)}</time>
                  {event.target ? ` · ${event.target}` : ""}
                  {event.ip ? ` · from ${event.ip}` : ""}
                </span>
              </li>
            );
          })}
        </ul>
      )}
      <nav className="flex justify-between text-sm" aria-label="Security activity pages">
        {paged ? (
          <Link href="/account#security-activity" className="font-medium text-indigo-700 hover:text-indigo-500">
            ← Newest
          </Link>
        ) : (
          <span />
        )}
        {activity.olderCursor ? (
          <Link
            href={`/account?activity=${encodeURIComponent(activity.olderCursor)}#security-activity`}
            className="font-medium text-indigo-700 hover:text-indigo-500"
            data-testid="activity-older"
          >
            Older →
          </Link>
        ) : null}
      </nav>
    </div>
  );
}
