import Link from "next/link";
import { connection } from "next/server";

export default async function NotFound() {
  // Rendered per request, like every page, so that its scripts carry the
  // response's nonce (proxy.ts); a page prerendered at build time has none.
  await connection();
  return (
    <main className="flex min-h-[60vh] flex-col items-center justify-center px-4 text-center">
      <p className="text-sm font-semibold text-indigo-600">404</p>
      <h1 className="mt-2 text-2xl font-semibold">Not found</h1>
      <p className="mt-2 text-slate-600">There is nothing here, or you do not have access to it.</p>
      <Link href="/" className="mt-6 text-sm font-semibold text-indigo-600 hover:text-indigo-500">
        Back to your sites
      </Link>
    </main>
  );
}
