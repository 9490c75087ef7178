"use client";

import { useRouter } from "next/navigation";
import { useRef, useState, type DragEvent } from "react";
import { Alert } from "@/app/_components/ui";
import { uploadZip } from "@/app/_lib/upload-client";

type State =
  | { kind: "idle" }
  | { kind: "uploading"; sent: number; total: number; name: string }
  | { kind: "processing"; name: string }
  | { kind: "done"; name: string }
  | { kind: "failed"; message: string };

function formatMegabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function UploadPanel({ tenant, site, maxBytes }: { tenant: string; site: string; maxBytes: number }) {
  const router = useRouter();
  const input = useRef<HTMLInputElement>(null);
  const [state, setState] = useState<State>({ kind: "idle" });
  const [dragging, setDragging] = useState(false);
  const busy = state.kind === "uploading" || state.kind === "processing";

  async function send(file: File) {
    // Quick checks for a fast answer; the server enforces the same limits.
    if (!file.name.toLowerCase().endsWith(".zip")) {
      setState({ kind: "failed", message: `“${file.name}” is not a .zip file. Zip your site's folder and upload the .zip.` });
      return;
    }
    if (file.size > maxBytes) {
      setState({ kind: "failed", message: `“${file.name}” is ${formatMegabytes(file.size)}, over the ${formatMegabytes(maxBytes)} limit.` });
      return;
    }
    setState({ kind: "uploading", sent: 0, total: file.size, name: file.name });
    const result = await uploadZip(`/api/tenants/${tenant}/sites/${site}/deploys`, file, {
      onProgress: (sent, total) => setState({ kind: "uploading", sent, total, name: file.name }),
      onSent: () => setState({ kind: "processing", name: file.name }),
    });
    if (!result.ok) {
      setState({ kind: "failed", message: result.error.message });
      return;
    }
    setState({ kind: "done", name: file.name });
    router.refresh();
  }

  function onDrop(event: DragEvent<HTMLDivElement>) {
    event.preventDefault();
    setDragging(false);
    const file = event.dataTransfer.files[0];
    if (file && !busy) void send(file);
  }

  const percent = state.kind === "uploading" && state.total > 0 ? Math.round((state.sent / state.total) * 100) : 0;

  return (
    <div className="space-y-3">
      <div
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        className={`flex flex-col items-center justify-center rounded-lg border-2 border-dashed px-6 py-8 text-center transition-colors ${
          dragging ? "border-indigo-500 bg-indigo-50" : "border-slate-300"
        }`}
      >
        <p className="font-medium text-slate-800">Drop a .zip of your built site here</p>
        <p className="mt-1 text-sm text-slate-600">
          It needs an index.html at the top (a single wrapping folder such as dist/ is fine). Up to {formatMegabytes(maxBytes)}.
        </p>
        <label
          htmlFor="site-zip"
          className="mt-4 cursor-pointer rounded-md bg-white px-3.5 py-2 text-sm font-semibold text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-within:outline-2 focus-within:outline-indigo-600"
        >
          Choose a zip file
          <input
            ref={input}
            id="site-zip"
            name="site-zip"
            type="file"
            accept=".zip,application/zip"
            className="sr-only"
            disabled={busy}
            onChange={(event) => {
              const file = event.target.files?.[0];
              if (file) void send(file);
              event.target.value = "";
            }}
          />
        </label>
      </div>
      {state.kind === "uploading" ? (
        <div>
          <div className="flex justify-between text-sm text-slate-700">
            <span>Uploading {state.name}</span>
            <span>{percent}%</span>
          </div>
          <div
            role="progressbar"
            aria-label="Upload progress"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={percent}
            className="mt-1 h-2 overflow-hidden rounded-full bg-slate-200"
          >
            <div className="h-full bg-indigo-600 transition-[width]" style={{ width: `${percent}%` }} />
          </div>
        </div>
      ) : null}
      {state.kind === "processing" ? (
        <p role="status" className="text-sm text-slate-700">
          Checking and packaging {state.name}…
        </p>
      ) : null}
      {state.kind === "done" ? (
        <p role="status" className="text-sm text-emerald-700">
          {state.name} was accepted as a new deploy.
        </p>
      ) : null}
      {state.kind === "failed" ? <Alert>{state.message}</Alert> : null}
    </div>
  );
}
