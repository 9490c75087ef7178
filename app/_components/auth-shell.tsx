import type { ReactNode } from "react";
import { Card } from "@/app/_components/ui";

export function AuthShell({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="flex min-h-screen flex-col items-center justify-center px-4 py-12">
      <div className="mb-8 text-center">
        <p className="text-2xl font-bold tracking-tight text-indigo-700">Pagoda</p>
        <h1 className="mt-2 text-xl font-semibold text-slate-900">{title}</h1>
      </div>
      <Card className="w-full max-w-sm">{children}</Card>
    </main>
  );
}
