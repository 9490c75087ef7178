"use client";

import "./globals.css";

/**
 * Replaces the root layout itself when that fails, so it brings its own
 * <html> and <body>; kept free of the layout's components, which may be
 * what failed.
 */
export default function GlobalError({ error, retry }: { error: Error & { digest?: string }; retry: () => void }) {
  return (
    <html lang="en">
      <body className="min-h-screen font-sans">
        <main className="flex min-h-[60vh] flex-col items-center justify-center px-4 text-center">
          <h1 className="text-2xl font-semibold">Pagoda could not show this page</h1>
          <p className="mt-2 text-slate-600">Something went wrong on our side. Try again in a moment.</p>
          {error.digest ? <p className="mt-2 font-mono text-xs text-slate-500">Reference: {error.digest}</p> : null}
          <button
            type="button"
            onClick={() => retry()}
            className="mt-6 rounded-md bg-indigo-600 px-3.5 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
          >
            Try again
          </button>
        </main>
      </body>
    </html>
  );
}
