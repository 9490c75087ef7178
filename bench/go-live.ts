/**
 * `npm run bench:go-live`: how long a person waits, on a running local stack
 * (`npm start` with a real node), from the end of an upload until the site is
 * Live and serving it, and for a rollback to be served. Prints each run and
 * the median. A measurement, not a test: it asserts nothing about time.
 *
 *   npm run bench:go-live -- [--base http://localhost:3000] [--runs 5] [--size-mb 1]
 */
import http from "node:http";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { buildZip } from "@/lib/uploads/test-support";
import { phaseEvents } from "./support";

const { values } = parseArgs({
  options: { base: { type: "string", default: "http://localhost:3000" }, runs: { type: "string", default: "5" }, "size-mb": { type: "string", default: "1" } },
});
const base = values.base!;
const runs = Number(values.runs);
const sizeBytes = Number(values["size-mb"]) * 1024 * 1024;

const cookies = new Map<string, string>();
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
  const response = await fetch(new URL(path, base), { ...init, headers, redirect: "manual" });
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const [name, ...rest] = pair!.split("=");
    cookies.set(name!, rest.join("="));
  }
  return response;
}

async function csrf(): Promise<string> {
  return ((await (await call("/api/auth/csrf")).json()) as { csrfToken: string }).csrfToken;
}

async function json<T>(path: string, method: string, body: unknown): Promise<T> {
  const response = await call(path, { method, headers: { "content-type": "application/json", "x-csrf-token": await csrf() }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Resolves when the site's status stream reports `phase` Live serving `digest`. */
async function waitLive(tenant: string, site: string, digest: string): Promise<void> {
  const response = await call(`/api/tenants/${tenant}/sites/${site}/status`, { headers: { accept: "text/event-stream" } });
  for await (const event of phaseEvents<{ phase: string; currentDigest: string | null }>(response.body!, site)) {
    if (event.phase === "Live" && event.currentDigest === digest) return;
    if (event.phase === "Failed") throw new Error(`rollout failed: ${JSON.stringify(event)}`);
  }
}

function fetchThroughIngress(url: string): Promise<string> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port: target.port, path: "/", headers: { host: target.host } }, (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
}

async function serves(url: string, marker: string): Promise<void> {
  for (;;) {
    if ((await fetchThroughIngress(url).catch(() => "")).includes(marker)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function site(marker: string): Promise<Buffer> {
  // Mostly incompressible bytes, so the zip is about sizeBytes on the wire.
  return buildZip([
    { name: "index.html", data: `<h1>${marker}</h1>` },
    { name: "assets/data.bin", data: randomBytes(Math.floor(sizeBytes * 0.9)), compress: false },
    { name: "assets/app.js", data: `/* ${marker} */\n` + "console.log(1);\n".repeat(Math.floor((sizeBytes * 0.1) / 16)) },
  ]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const email = `bench-${randomBytes(4).toString("hex")}@example.com`;
  const password = "a long and varied passphrase";
  const { tenant } = await json<{ tenant: string }>("/api/signup", "POST", { name: "Bench", email, password });
  await call("/api/auth/callback/credentials", { method: "POST", body: new URLSearchParams({ email, password, csrfToken: await csrf(), json: "true" }) });
  const { site: created } = await json<{ site: { name: string; url: string } }>(`/api/tenants/${tenant}/sites`, "POST", { name: "bench" });

  const toLive: number[] = [];
  const deploys: { id: string; digest: string; marker: string }[] = [];
  for (let i = 0; i < runs; i += 1) {
    const marker = `run-${i}-${randomBytes(3).toString("hex")}`;
    const zip = await site(marker);
    const response = await call(`/api/tenants/${tenant}/sites/bench/deploys`, {
      method: "POST",
      headers: { "content-type": "application/zip", "x-csrf-token": await csrf() },
      body: new Uint8Array(zip),
    });
    if (!response.ok) throw new Error(`upload failed: ${response.status} ${await response.text()}`);
    const uploadedAt = performance.now();
    const { deploy } = (await response.json()) as { deploy: { id: string; digest: string } };
    await waitLive(tenant, "bench", deploy.digest);
    const liveAt = performance.now();
    await serves(created.url, marker);
    const servedAt = performance.now();
    toLive.push(liveAt - uploadedAt);
    deploys.push({ ...deploy, marker });
    console.log(
      `upload ${i + 1}: ${(zip.length / 1024 / 1024).toFixed(2)} MB zip, Live after ${((liveAt - uploadedAt) / 1000).toFixed(2)} s, served after ${((servedAt - uploadedAt) / 1000).toFixed(2)} s`,
    );
  }
  const first = deploys[0]!;
  const started = performance.now();
  await json(`/api/tenants/${tenant}/sites/bench/deploys/${first.id}/promote`, "POST", {});
  await waitLive(tenant, "bench", first.digest);
  const rollbackLive = performance.now() - started;
  await serves(created.url, first.marker);
  const rollbackServed = performance.now() - started;
  console.log(`\nend of upload → Live, median of ${runs}: ${(median(toLive) / 1000).toFixed(2)} s`);
  console.log(`rollback → Live: ${(rollbackLive / 1000).toFixed(2)} s; → old content served: ${(rollbackServed / 1000).toFixed(2)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
