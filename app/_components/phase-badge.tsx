/** A site's phase as the dashboard names it (lib/publishing/live-status.ts). */
export type PhaseName = "Pending" | "Deploying" | "Live" | "Failed" | "Offline" | "NoCluster";

const PHASE_STYLES: Record<PhaseName, string> = {
  Pending: "bg-amber-100 text-amber-800",
  Deploying: "bg-sky-100 text-sky-800",
  Live: "bg-emerald-100 text-emerald-800",
  Failed: "bg-red-100 text-red-800",
  Offline: "bg-slate-100 text-slate-700",
  NoCluster: "bg-slate-100 text-slate-700",
};

const PHASE_LABELS: Record<PhaseName, string> = {
  Pending: "Pending",
  Deploying: "Deploying",
  Live: "Live",
  Failed: "Failed",
  Offline: "Offline",
  NoCluster: "Not connected",
};

const SIZES = { md: "px-3 py-1 text-sm", sm: "px-2 py-0.5 text-xs" } as const;

export function PhaseBadge({ phase, size = "md", live = false }: { phase: PhaseName; size?: keyof typeof SIZES; live?: boolean }) {
  return (
    <span
      className={`rounded-full font-semibold ${SIZES[size]} ${PHASE_STYLES[phase]}`}
      data-testid="phase-badge"
      data-phase={phase}
      aria-live={live ? "polite" : undefined}
    >
      {PHASE_LABELS[phase]}
    </span>
  );
}
