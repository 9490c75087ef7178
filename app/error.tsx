"use client";

import { Button } from "@/app/_components/ui";

/**
 * What a page shows when its server render or a client component fails.
 * The server's own message never reaches the browser in production (Next
 * replaces it); the digest is what ties this screen to the server's log line.
 */
export default function PageError({ error, retry }: { error: Error & { digest?: string }; retry: () => void }) {
  return (
    <main className="flex min-h-[60vh] flex-col items-center justify-center px-4 text-center">
      <p className="text-sm font-semibold text-red-600">Error</p>
      <h1 className="mt-2 text-2xl font-semibold">This page could not be shown</h1>
      <p className="mt-2 max-w-md text-slate-600">Something went wrong on our side. Nothing you did was lost; try again in a moment.</p>
      {error.digest ? <p className="mt-2 font-mono text-xs text-slate-500">Reference: {error.digest}</p> : null}
      <Button className="mt-6" onClick={() => retry()}>
        Try again
      </Button>
    </main>
  );
}
