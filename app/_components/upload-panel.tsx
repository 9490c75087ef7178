"use client";

import { useRouter } from "next/navigation";
import { useState, type DragEvent } from "react";
import { Alert } from "@/app/_components/ui";
import { useHydrated } from "@/app/_components/use-hydrated";
import { classifyDrop, readDroppedFolder } from "@/app/_lib/dropped-folder";
import { folderName, pickedFolderFiles, type FolderFile } from "@/app/_lib/folder-files";
import { uploadZip } from "@/app/_lib/upload-client";
import { zipFolder } from "@/app/_lib/zip-folder";

/** As lib/validation.ts's deploy message rule; the server checks it again. */
const MESSAGE_MAX = 500;

type State =
  | { kind: "idle" }
  | { kind: "reading"; name: string }
  | { kind: "zipping"; name: string; read: number; total: number; files: number }
  | { kind: "uploading"; sent: number; total: number; name: string }
  | { kind: "processing"; name: string }
  | { kind: "done"; name: string }
  | { kind: "failed"; message: string };

function formatMegabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function percentOf(done: number, total: number): number {
  return total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
}

function ProgressBar({ label, text, percent }: { label: string; text: string; percent: number }) {
  return (
    <div>
      <div className="flex justify-between text-sm text-slate-700">
        <span>{text}</span>
        <span>{percent}%</span>
      </div>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        className="mt-1 h-2 overflow-hidden rounded-full bg-slate-200"
      >
        <div className="h-full bg-indigo-600 transition-[width]" style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}

// React passes unknown attributes through; the DOM typings do not list this one.
const folderPicker = { webkitdirectory: "", directory: "" } as Record<string, string>;

export function UploadPanel({ tenant, site, maxBytes }: { tenant: string; site: string; maxBytes: number }) {
  const router = useRouter();
  const hydrated = useHydrated();
  const [state, setState] = useState<State>({ kind: "idle" });
  const [dragging, setDragging] = useState(false);
  const [message, setMessage] = useState("");
  const busy = state.kind === "reading" || state.kind === "zipping" || state.kind === "uploading" || state.kind === "processing";

  async function upload(zip: Blob, name: string) {
    // A quick answer for the common case; the server enforces the same limit whatever the page does.
    if (zip.size > maxBytes) {
      setState({ kind: "failed", message: `“${name}” is ${formatMegabytes(zip.size)}, over the ${formatMegabytes(maxBytes)} limit.` });
      return;
    }
    setState({ kind: "uploading", sent: 0, total: zip.size, name });
    const text = message.trim();
    const query = text ? `?message=${encodeURIComponent(text)}` : "";
    const result = await uploadZip(`/api/tenants/${tenant}/sites/${site}/deploys${query}`, zip, {
      onProgress: (sent, total) => setState({ kind: "uploading", sent, total, name }),
      onSent: () => setState({ kind: "processing", name }),
    });
    if (!result.ok) {
      setState({ kind: "failed", message: result.error.message });
      return;
    }
    setState({ kind: "done", name });
    setMessage("");
    router.refresh();
  }

  async function sendZip(file: File) {
    if (!file.name.toLowerCase().endsWith(".zip")) {
      setState({ kind: "failed", message: `“${file.name}” is not a .zip file. Zip your site's folder and upload the .zip.` });
      return;
    }
    await upload(file, file.name);
  }

  async function sendFolder(name: string, files: FolderFile[]) {
    if (files.length === 0) {
      setState({ kind: "failed", message: `The folder “${name}” has no files to deploy.` });
      return;
    }
    const total = files.reduce((sum, { file }) => sum + file.size, 0);
    setState({ kind: "zipping", name, read: 0, total, files: files.length });
    let zip: Blob;
    try {
      zip = await zipFolder(files, ({ read }) => setState({ kind: "zipping", name, read, total, files: files.length }));
    } catch (error) {
      setState({ kind: "failed", message: `The folder “${name}” could not be zipped: ${error instanceof Error ? error.message : String(error)}` });
      return;
    }
    await upload(zip, name);
  }

  async function onDrop(event: DragEvent<HTMLDivElement>) {
    event.preventDefault();
    setDragging(false);
    if (busy) return;
    // The entries must be taken from the event before the first await: the browser empties it afterwards.
    const dropped = classifyDrop(event.dataTransfer);
    if (dropped.kind === "refused") {
      setState({ kind: "failed", message: dropped.message });
      return;
    }
    if (dropped.kind === "zip") {
      await sendZip(dropped.file);
      return;
    }
    setState({ kind: "reading", name: dropped.name });
    try {
      const { files } = await readDroppedFolder(dropped.entry);
      await sendFolder(dropped.name, files);
    } catch (error) {
      setState({ kind: "failed", message: `The folder “${dropped.name}” could not be read: ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  const messageLength = [...message].length;
  const pickerClass =
    "cursor-pointer rounded-md bg-white px-3.5 py-2 text-sm font-semibold text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-within:outline-2 focus-within:outline-indigo-600";

  return (
    <div className="space-y-3">
      <div>
        <div className="flex items-baseline justify-between">
          <label htmlFor="deploy-message" className="block text-sm font-medium text-slate-800">
            Deploy message <span className="font-normal text-slate-500">(optional)</span>
          </label>
          <span id="deploy-message-count" className="text-xs text-slate-500" aria-live="polite">
            {messageLength}/{MESSAGE_MAX}
          </span>
        </div>
        <input
          id="deploy-message"
          name="deploy-message"
          type="text"
          maxLength={MESSAGE_MAX}
          value={message}
          disabled={busy}
          onChange={(event) => setMessage(event.target.value)}
          placeholder="What changed, e.g. “New pricing page”"
          aria-describedby="deploy-message-count"
          className="mt-1 block w-full rounded-md border-0 px-3 py-2 text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-indigo-600 sm:text-sm"
        />
      </div>
      <div
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => void onDrop(event)}
        data-testid="drop-zone"
        className={`flex flex-col items-center justify-center rounded-lg border-2 border-dashed px-6 py-8 text-center transition-colors ${
          dragging ? "border-indigo-500 bg-indigo-50" : "border-slate-300"
        }`}
      >
        <p className="font-medium text-slate-800">Drop your built site&apos;s folder or a .zip of it here</p>
        <p className="mt-1 text-sm text-slate-600">
          It needs an index.html at the top (a single wrapping folder such as dist/ is fine). Up to {formatMegabytes(maxBytes)} zipped. A folder is zipped in
          your browser; .git, node_modules, system files such as .DS_Store and what a .pagodaignore at its top names are left out.
        </p>
        <div className="mt-4 flex flex-wrap justify-center gap-3">
          <label htmlFor="site-folder" className={pickerClass}>
            Choose a folder
            <input
              id="site-folder"
              name="site-folder"
              type="file"
              multiple
              {...folderPicker}
              className="sr-only"
              disabled={busy || !hydrated}
              onChange={(event) => {
                const picked = [...(event.target.files ?? [])];
                event.target.value = "";
                const first = picked[0];
                if (!first) return;
                const name = folderName(first.webkitRelativePath || first.name);
                void pickedFolderFiles(picked.map((file) => ({ file, relativePath: file.webkitRelativePath || file.name }))).then(
                  ({ files }) => sendFolder(name, files),
                  (error: unknown) =>
                    setState({ kind: "failed", message: `The folder “${name}” could not be read: ${error instanceof Error ? error.message : String(error)}` }),
                );
              }}
            />
          </label>
          <label htmlFor="site-zip" className={pickerClass}>
            Choose a zip file
            <input
              id="site-zip"
              name="site-zip"
              type="file"
              accept=".zip,application/zip"
              className="sr-only"
              disabled={busy}
              onChange={(event) => {
                const file = event.target.files?.[0];
                event.target.value = "";
                if (file) void sendZip(file);
              }}
            />
          </label>
        </div>
      </div>
      {state.kind === "reading" ? (
        <p role="status" className="text-sm text-slate-700">
          Reading {state.name}…
        </p>
      ) : null}
      {state.kind === "zipping" ? (
        <ProgressBar
          label="Zipping progress"
          text={`Zipping ${state.name} (${state.files} ${state.files === 1 ? "file" : "files"})`}
          percent={percentOf(state.read, state.total)}
        />
      ) : null}
      {state.kind === "uploading" ? (
        <ProgressBar label="Upload progress" text={`Uploading ${state.name}`} percent={percentOf(state.sent, state.total)} />
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
