/**
 * `npm run bench:cli-deploy`: what the pagoda CLI costs a deploy, next to the
 * baseline anyone has without it: `zip -r` of the same folder and `curl` of
 * the zip to the same API with the same token, in the same run, on the same
 * stack. Time to Live includes a rollout on the node, which varies by
 * seconds from one deploy to the next, so each size gets `--rounds` rounds
 * (3 by default) of baseline then CLI, and the comparison is of medians,
 * printed with every round and the spread. For each size (25, 50 and 100 MiB by default, 100 files per MiB, so
 * 10,000 files at 100 MiB) it prints the time to zip, to upload (and for the
 * CLI, processing apart from upload), to Live after the server's answer, the
 * total from the start to Live, and the peak resident set of the CLI (and of
 * zip and curl). Targets: the CLI's time to Live at most 1.2× the baseline's;
 * its peak RSS at most 150 MB and flat across sizes.
 *
 * The stack is the browser tests' (e2e/stack.ts: a throw-away Postgres, a
 * cluster with a real node, the operator, the built dashboard), so it needs
 * root and the real-node lock. A measurement, not a test: it asserts nothing
 * about time. Only loopback traffic; every loop is bounded.
 *
 *   npm run bench:cli-deploy -- [--sizes 25,50,100] [--rounds 3] [--files-per-mib 100] [--keep-folders]
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { parseArgs } from "node:util";
import { walkFolder } from "@/cli/src/walk";
import { zipStream } from "@/cli/src/zip";
import type { StackMessage } from "@/e2e/stack";
import { phaseEvents } from "./support";

const run = promisify(execFile);
const MiB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "25,50,100" },
    rounds: { type: "string", default: "3" },
    "files-per-mib": { type: "string", default: "100" },
    "keep-folders": { type: "boolean", default: false },
  },
});
const sizes = values.sizes!.split(",").map(Number);
const filesPerMiB = Number(values["files-per-mib"]);
const rounds = Number(values.rounds);
if (sizes.some((s) => !Number.isFinite(s) || s <= 0) || !(filesPerMiB > 0))
  throw new Error("--sizes takes MiB figures like 25,50,100; --files-per-mib a number");
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error("--rounds takes a whole number from 1 to 20");

/** A small deterministic generator, so every run measures the same folder. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const WORDS = "the site page style script color layout header footer button image link grid block render static build deploy asset".split(" ");

/**
 * A built site as bundlers leave it: mostly text (HTML, CSS, JS, which
 * deflates three to five times) and a share of already-compressed images,
 * in nested folders, about `bytes` in all over `files` files.
 */
async function generateFolder(dir: string, bytes: number, files: number): Promise<void> {
  const random = prng(bytes ^ files);
  const average = bytes / files;
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < files; i += 1) {
    const folder = path.join(dir, `section-${i % 40}`, `part-${Math.floor(i / 40) % 25}`);
    if (i < 1000) await mkdir(folder, { recursive: true });
    const size = Math.max(64, Math.round(average * (0.5 + random())));
    let data: Buffer;
    let ext: string;
    if (i % 10 < 3) {
      data = randomBytes(size);
      ext = "png";
    } else {
      ext = ["html", "css", "js"][i % 3]!;
      const parts: string[] = [];
      let length = 0;
      while (length < size) {
        const word = `${WORDS[Math.floor(random() * WORDS.length)]}${Math.floor(random() * 1000)} `;
        parts.push(word);
        length += word.length;
      }
      data = Buffer.from(parts.join("").slice(0, size));
    }
    await writeFile(path.join(folder, `file-${i}.${ext}`), data);
  }
}

async function folderBytes(dir: string): Promise<number> {
  const { stdout } = await run("du", ["-sb", "--apparent-size", dir]);
  return Number(stdout.split("\t")[0]);
}

function startStack(): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  const stack = spawn(process.execPath, ["--import", "tsx", "e2e/stack.ts"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise<void>((resolve) => stack.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    stack.once("message", (message: StackMessage) => {
      if ("failed" in message) return reject(new Error(`the stack did not start: ${message.failed}`));
      resolve({
        env: message.ready,
        stop: async () => {
          if (stack.connected) stack.disconnect();
          await exited;
        },
      });
    });
    stack.once("exit", (code, signal) => reject(new Error(`the stack exited before it was ready (${signal ?? `exit ${code}`})`)));
  });
}

class Session {
  private cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  async call(pathname: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const response = await fetch(new URL(pathname, this.base), { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, ...rest] = pair!.split("=");
      this.cookies.set(name!, rest.join("="));
    }
    return response;
  }

  async csrf(): Promise<string> {
    return ((await (await this.call("/api/auth/csrf")).json()) as { csrfToken: string }).csrfToken;
  }

  async json<T>(pathname: string, method: string, body: unknown): Promise<T> {
    const response = await this.call(pathname, {
      method,
      headers: { "content-type": "application/json", "x-csrf-token": await this.csrf() },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${pathname}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }
}

async function waitLive(base: string, token: string, tenant: string, site: string, digest: string): Promise<void> {
  const response = await fetch(new URL(`/api/tenants/${tenant}/sites/${site}/status`, base), {
    headers: { accept: "text/event-stream", authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new Error(`status stream of ${site}: ${response.status} ${await response.text()}`);
  const deadline = setTimeout(() => void response.body?.cancel(), 600_000);
  try {
    for await (const event of phaseEvents<{ phase: string; currentDigest: string | null; message: string }>(response.body!, site)) {
      if (event.phase === "Live" && event.currentDigest === digest) return;
      if (event.phase === "Failed") throw new Error(`rollout of ${site} failed: ${event.message}`);
    }
  } finally {
    clearTimeout(deadline);
  }
}

/** Peak RSS in MB as GNU time reports it (its %M is KiB). */
async function timed(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv }, rssFile: string) {
  const started = performance.now();
  const result = await run("/usr/bin/time", ["-f", "%M", "-o", rssFile, command, ...args], { ...opts, maxBuffer: 64 * MiB }).catch(
    (error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`${command} failed: ${error.message}\n${error.stdout ?? ""}\n${error.stderr ?? ""}`);
    },
  );
  const ms = performance.now() - started;
  const rssMB = (Number((await readFile(rssFile, "utf8")).trim().split("\n").pop()) * 1024) / 1e6;
  return { ms, rssMB, stdout: result.stdout };
}

interface Row {
  size: number;
  files: number;
  /** 1-based; the CLI's-zip run, once per size after the rounds, has none. */
  round: number | null;
  tool: string;
  /** Listing the folder before anything is sent (the CLI's refusals happen here). */
  listMs: number | null;
  zipMs: number | null;
  /** zip -r + curl: curl's whole request (upload and processing); the CLI: zipping and uploading, which overlap. */
  sendMs: number;
  /** From the last byte sent to the answer: only the CLI can tell it apart. */
  processingMs: number | null;
  answerMs: number;
  liveMs: number;
  totalMs: number;
  rssMB: string;
  /** The process whose memory counts against the target: the CLI, or zip -r and curl's larger. */
  peakRssMB: number;
  zipBytes: number;
}

function curlUpload(ctx: Ctx, zipFile: string, site: string) {
  return timed(
    "curl",
    [
      "-sS",
      "--fail-with-body",
      "-X",
      "POST",
      "--data-binary",
      `@${zipFile}`,
      "-H",
      "content-type: application/zip",
      "-H",
      `authorization: Bearer ${ctx.token}`,
      `${ctx.base}/api/tenants/${ctx.tenant}/sites/${site}/deploys`,
    ],
    {},
    path.join(ctx.work, "curl.rss"),
  );
}

async function baseline(ctx: Ctx, folder: string, site: string): Promise<Omit<Row, "size" | "files" | "round">> {
  const zipFile = path.join(ctx.work, `${site}.zip`);
  await rm(zipFile, { force: true });
  const started = performance.now();
  const zip = await timed("zip", ["-r", "-q", "-X", zipFile, "."], { cwd: folder }, path.join(ctx.work, "zip.rss"));
  const zipBytes = (await stat(zipFile)).size;
  const curl = await curlUpload(ctx, zipFile, site);
  const { deploy } = JSON.parse(curl.stdout) as { deploy: { digest: string } };
  const answered = performance.now();
  await waitLive(ctx.base, ctx.token, ctx.tenant, site, deploy.digest);
  const live = performance.now();
  await rm(zipFile, { force: true });
  return {
    tool: "zip -r + curl",
    listMs: null,
    zipMs: zip.ms,
    sendMs: curl.ms,
    processingMs: null,
    answerMs: answered - started,
    liveMs: live - answered,
    totalMs: live - started,
    rssMB: `${zip.rssMB.toFixed(0)} / ${curl.rssMB.toFixed(0)}`,
    peakRssMB: Math.max(zip.rssMB, curl.rssMB),
    zipBytes,
  };
}

/**
 * The CLI's own zip (the same writer, cli/src/zip.ts) written to a file first
 * and sent by curl with its length, as the baseline sends zip -r's: what the
 * server does with the CLI's zip layout (data descriptors, entry order,
 * stored and deflated entries), apart from how the CLI streams it.
 */
async function cliZipCurl(ctx: Ctx, folder: string, site: string): Promise<Omit<Row, "size" | "files" | "round">> {
  const zipFile = path.join(ctx.work, `${site}.zip`);
  await rm(zipFile, { force: true });
  const started = performance.now();
  const { files } = await walkFolder(folder);
  const zipped = zipStream(files);
  await Promise.all([pipeline(zipped.output, createWriteStream(zipFile)), zipped.done]);
  const zipMs = performance.now() - started;
  const zipBytes = (await stat(zipFile)).size;
  const curl = await curlUpload(ctx, zipFile, site);
  const { deploy } = JSON.parse(curl.stdout) as { deploy: { digest: string } };
  const answered = performance.now();
  await waitLive(ctx.base, ctx.token, ctx.tenant, site, deploy.digest);
  const live = performance.now();
  await rm(zipFile, { force: true });
  return {
    tool: "CLI's zip + curl",
    listMs: null,
    zipMs,
    sendMs: curl.ms,
    processingMs: null,
    answerMs: answered - started,
    liveMs: live - answered,
    totalMs: live - started,
    rssMB: `— / ${curl.rssMB.toFixed(0)}`,
    peakRssMB: curl.rssMB,
    zipBytes,
  };
}

async function cli(ctx: Ctx, folder: string, site: string): Promise<Omit<Row, "size" | "files" | "round">> {
  const env = { ...process.env, PAGODA_TOKEN: ctx.token, PAGODA_URL: ctx.base, XDG_CONFIG_HOME: path.join(ctx.work, "config") };
  const result = await timed(process.execPath, ["cli/bin/pagoda.mjs", "deploy", folder, "--site", site, "--json"], { env }, path.join(ctx.work, "cli.rss"));
  const out = JSON.parse(result.stdout) as {
    ok: boolean;
    bytes: number;
    timings: { checkMs: number; sendMs: number; processingMs: number; liveMs: number };
  };
  if (!out.ok) throw new Error(`the CLI failed: ${result.stdout}`);
  return {
    tool: "pagoda deploy",
    listMs: out.timings.checkMs,
    zipMs: null,
    sendMs: out.timings.sendMs,
    processingMs: out.timings.processingMs,
    // Its own start-up and the token look-up count: they are part of what a person waits for.
    answerMs: result.ms - out.timings.liveMs,
    liveMs: out.timings.liveMs,
    // The whole process, start-up and exit included, as a person waits for it.
    totalMs: result.ms,
    rssMB: result.rssMB.toFixed(0),
    peakRssMB: result.rssMB,
    zipBytes: out.bytes,
  };
}

interface Ctx {
  base: string;
  token: string;
  tenant: string;
  work: string;
}

const s = (ms: number | null) => (ms === null ? "—" : `${(ms / 1000).toFixed(2)} s`);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** min–max, and that range as a share of the median: how far one round alone could mislead. */
function spread(values: number[]): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return `${s(low)}–${s(high)} (±${(((high - low) / 2 / median(values)) * 100).toFixed(0)} %)`;
}

function printTable(header: string[], table: string[][], left: number): void {
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  for (const row of [header, ...table]) console.log(row.map((cell, i) => (i < left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), "pagoda-bench-cli-"));
  const folders: { size: number; files: number; dir: string; bytes: number }[] = [];
  for (const size of sizes) {
    const files = Math.round(size * filesPerMiB);
    const dir = path.join(work, `site-${size}`);
    console.log(`generating ${size} MiB in ${files.toLocaleString("en-US")} files…`);
    await generateFolder(dir, size * MiB, files);
    folders.push({ size, files, dir, bytes: await folderBytes(dir) });
  }

  console.log("starting Postgres, a real-node cluster, the operator and the dashboard (e2e/stack.ts)…");
  const stack = await startStack();
  const log = createWriteStream(path.join(work, "bench.log"));
  try {
    const base = "http://localhost:3100";
    const session = new Session(base);
    const email = `bench-${randomBytes(4).toString("hex")}@example.com`;
    const password = "a long and varied passphrase";
    const { tenant } = await session.json<{ tenant: string }>("/api/signup", "POST", { name: "Bench", email, password });
    await session.call("/api/auth/callback/credentials", {
      method: "POST",
      body: new URLSearchParams({ email, password, csrfToken: await session.csrf(), json: "true" }),
    });
    const { token } = await session.json<{ token: string }>(`/api/tenants/${tenant}/tokens`, "POST", { name: "bench", scopes: ["read", "deploy"] });
    const ctx: Ctx = { base, token, tenant, work };
    // The CLI bundles its sources on its first run; that is set-up, not a deploy.
    await run(process.execPath, ["cli/bin/pagoda.mjs", "--version"]);

    const rows: Row[] = [];
    const deploy = async (tool: "zip" | "cli" | "clizip", folder: (typeof folders)[number], round: number | null) => {
      // A marker of its own: the same bytes would be the same artifact, already live.
      await writeFile(path.join(folder.dir, "index.html"), `<!doctype html><h1>${tool} ${folder.size} ${round} ${randomBytes(6).toString("hex")}</h1>`);
      const site = `${tool}-${folder.size}`;
      console.log(`${site}${round === null ? "" : `, round ${round}/${rounds}`}: deploying ${(folder.bytes / MiB).toFixed(1)} MiB…`);
      const row =
        tool === "zip" ? await baseline(ctx, folder.dir, site) : tool === "cli" ? await cli(ctx, folder.dir, site) : await cliZipCurl(ctx, folder.dir, site);
      rows.push({ size: folder.size, files: folder.files, round, ...row });
      log.write(`${JSON.stringify(rows.at(-1))}\n`);
    };
    for (const folder of folders) {
      for (const tool of ["zip", "cli", "clizip"]) await session.json(`/api/tenants/${tenant}/sites`, "POST", { name: `${tool}-${folder.size}` });
      // Baseline and CLI alternate, each round a fresh deploy to the same site (so each
      // but the first also replaces a Live deploy, as a person's next deploy does).
      for (let round = 1; round <= rounds; round += 1) {
        await deploy("zip", folder, round);
        await deploy("cli", folder, round);
      }
      // A diagnostic of the server's work on the CLI's zip layout, not part of the comparison: once.
      await deploy("clizip", folder, null);
    }

    console.log("");
    printTable(
      ["size", "files", "round", "tool", "zip size", "list", "zip", "send", "processing", "start → answer", "answer → Live", "start → Live", "peak RSS MB"],
      rows.map((r) => [
        `${r.size} MiB`,
        r.files.toLocaleString("en-US"),
        r.round === null ? "—" : String(r.round),
        r.tool,
        `${(r.zipBytes / MiB).toFixed(1)} MiB`,
        s(r.listMs),
        s(r.zipMs),
        s(r.sendMs),
        s(r.processingMs),
        s(r.answerMs),
        s(r.liveMs),
        s(r.totalMs),
        r.rssMB,
      ]),
      4,
    );
    console.log(
      "\nsend: for zip -r + curl, curl's whole request (upload and processing); for pagoda deploy, zipping and uploading at once (chunked)." +
        "\nprocessing: from the last byte sent to the answer (the CLI's own measure). RSS for zip -r + curl: zip / curl." +
        "\nCLI's zip + curl: the CLI's zip writer to a file, then curl with its length: the server's work on that zip layout, apart from the streaming.",
    );

    const medianOf = (list: Row[], key: "zipMs" | "sendMs" | "answerMs" | "liveMs" | "totalMs") => median(list.map((r) => r[key] ?? 0));
    const summary: string[][] = [];
    for (const size of sizes) {
      const base_ = rows.filter((r) => r.size === size && r.tool.startsWith("zip"));
      const ours = rows.filter((r) => r.size === size && r.tool.startsWith("pagoda"));
      const ratio = medianOf(ours, "totalMs") / medianOf(base_, "totalMs");
      const perRound = ours.map((r, i) => (r.totalMs / base_[i]!.totalMs).toFixed(2)).join(", ");
      for (const [list, ratioCell] of [
        [base_, "—"],
        [ours, `${ratio.toFixed(2)}× (rounds: ${perRound})`],
      ] as const) {
        summary.push([
          `${size} MiB`,
          list[0]!.tool,
          list[0]!.tool.startsWith("zip") ? s(medianOf(list, "zipMs")) : "—",
          s(medianOf(list, "sendMs")),
          s(medianOf(list, "answerMs")),
          s(medianOf(list, "liveMs")),
          s(medianOf(list, "totalMs")),
          spread(list.map((r) => r.totalMs)),
          ratioCell,
          list.map((r) => r.peakRssMB.toFixed(0)).join(", "),
        ]);
      }
    }
    console.log(`\nmedians of ${rounds} round${rounds === 1 ? "" : "s"} per size:`);
    printTable(
      ["size", "tool", "zip", "send", "start → answer", "answer → Live", "start → Live", "start → Live min–max", "÷ baseline", "peak RSS MB per round"],
      summary,
      2,
    );
    for (const size of sizes) {
      const base_ = rows.filter((r) => r.size === size && r.tool.startsWith("zip"));
      const ours = rows.filter((r) => r.size === size && r.tool.startsWith("pagoda"));
      const layout = rows.find((r) => r.size === size && r.tool.startsWith("CLI's zip"))!;
      console.log(
        `${size} MiB: pagoda deploy / baseline, median start → Live: ${(medianOf(ours, "totalMs") / medianOf(base_, "totalMs")).toFixed(2)}× (target ≤ 1.2×); ` +
          `CLI peak RSS at most ${Math.max(...ours.map((r) => r.peakRssMB)).toFixed(0)} MB (target ≤ 150); ` +
          `curl's request with zip -r's zip ${s(medianOf(base_, "sendMs"))} (median), with the CLI's ${s(layout.sendMs)} (once)`,
      );
    }
  } finally {
    log.end();
    await stack.stop();
    if (!values["keep-folders"]) await rm(work, { recursive: true, force: true });
    else console.log(`folders kept in ${work}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
