/**
 * Upload pipeline benchmark: validate + normalize + hash + store, against a
 * shell baseline doing the same work with standard tools on the same zip.
 *
 *   npm run bench:upload               # 25, 50 and 100 MB sites of 10,000 files
 *   npm run bench:upload -- 25 --files 2000 --repeat 3
 *
 * Each measured run happens in its own child process so peak RSS is per
 * run: ours reports process.resourceUsage().maxRSS, the baseline is run
 * under GNU time. Needs zip, unzip, tar, gzip, sha256sum and /usr/bin/time.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { promisify } from "node:util";
import { DASHBOARD_NODE_OPTIONS } from "@/lib/node-options";

const exec = promisify(execFile);
const MB = 1_000_000;

interface RunResult {
  seconds: number;
  /** Ours only: the longest the event loop went without a turn, i.e. how long other requests could wait. */
  maxLoopDelayMs?: number;
  /** User + system CPU of the whole run (all threads / all processes): fairer than wall time on a busy machine. */
  cpuSeconds: number;
  maxRssMiB: number;
}

async function child(zip: string, storeRoot: string): Promise<void> {
  const { processUpload } = await import("@/lib/uploads/process");
  const { DEFAULT_UPLOAD_LIMITS } = await import("@/lib/uploads/limits");
  const { FsArtifactStore } = await import("@/lib/artifacts/fs-store");
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const result = await processUpload(
    zip,
    { ...DEFAULT_UPLOAD_LIMITS, maxArchiveBytes: 1024 * MB, maxUncompressedBytes: 2048 * MB },
    new FsArtifactStore(storeRoot),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const maxLoopDelayMs = loop.max / 1e6;
  process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds, maxLoopDelayMs, maxRssMiB: process.resourceUsage().maxRSS / 1024, result })}\n`);
}

/** Text that compresses about as well as real HTML/CSS/JS (3–5×), cheaply. */
function makeText(bytes: number, seed: number): Buffer {
  const words = [
    "div",
    "class",
    "container",
    "function",
    "return",
    "const",
    "margin",
    "padding",
    "flex",
    "color",
    "hover",
    "button",
    "export",
    "import",
    "default",
    "width",
    "height",
    "async",
    "await",
    "props",
    "state",
    "display",
    "grid",
    "span",
    "href",
    "section",
    "header",
    "footer",
    "title",
    "value",
  ];
  let x = seed >>> 0 || 1;
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const word = `${words[x % words.length]}${x % 7 === 0 ? (x >>> 8) % 1000 : ""}${x % 11 === 0 ? ";\n" : " "}`;
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join("").slice(0, bytes));
}

async function generateSite(dir: string, totalBytes: number, files: number): Promise<void> {
  const textShare = 0.6;
  const textFiles = Math.round(files * 0.7);
  const binFiles = files - textFiles;
  const textExt = ["html", "css", "js", "json", "svg"];
  const binExt = ["png", "jpg", "woff2", "webp"];
  await writeFile(path.join(dir, "index.html"), makeText(4000, 1));
  for (let i = 0; i < files - 1; i++) {
    const isText = i % 10 < 7;
    const mean = isText ? (totalBytes * textShare) / textFiles : (totalBytes * (1 - textShare)) / binFiles;
    const size = Math.max(1, Math.round(mean * (0.5 + ((i * 7919) % 1000) / 1000)));
    const folder = path.join(dir, "assets", `${i % 100}`);
    if (i < 100) await mkdir(folder, { recursive: true });
    const name = `f${i}.${isText ? textExt[i % textExt.length] : binExt[i % binExt.length]}`;
    await writeFile(path.join(folder, name), isText ? makeText(size, i + 2) : randomBytes(size));
  }
}

// The child runs the dashboard's server modules outside Next.js (scripts/lib/server-only-outside-next.mjs).
const SERVER_ONLY_PRELOAD = path.join(__dirname, "..", "scripts", "lib", "server-only-outside-next.mjs");

function runChild(zip: string, storeRoot: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [...DASHBOARD_NODE_OPTIONS.split(" "), "--import", "tsx", "--import", SERVER_ONLY_PRELOAD, __filename, "--child", zip, storeRoot],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, LOG_LEVEL: "silent" },
      },
    );
    let out = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
    proc.on("error", reject);
    proc.on("close", (code) => {
      if (code !== 0) return reject(new Error(`pipeline child exited with ${code}`));
      const line = out.trim().split("\n").at(-1) ?? "";
      resolve(JSON.parse(line) as RunResult);
    });
  });
}

async function runBaseline(zip: string, work: string): Promise<RunResult> {
  const script = [
    "set -e",
    `unzip -tq "${zip}" > /dev/null`,
    `unzip -q "${zip}" -d "${work}/out"`,
    `tar czf "${work}/out.tar.gz" -C "${work}/out" .`,
    `sha256sum "${work}/out.tar.gz" > /dev/null`,
  ].join("\n");
  const { stderr } = await exec("/usr/bin/time", ["-f", "%e %U %S %M", "bash", "-c", script]);
  const [seconds, user, system, kib] = stderr.trim().split("\n").at(-1)?.split(" ").map(Number) ?? [];
  if (seconds === undefined || user === undefined || system === undefined || kib === undefined) throw new Error(`cannot read GNU time output: ${stderr}`);
  return { seconds, cpuSeconds: user + system, maxRssMiB: kib / 1024 };
}

function best(runs: RunResult[]): RunResult {
  return runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "--child") return child(argv[1] ?? "", argv[2] ?? "");
  const sizes = argv.filter((a, i) => /^\d+$/.test(a) && !/^--/.test(argv[i - 1] ?? "")).map(Number);
  const flag = (name: string, dflt: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const files = flag("--files", 10_000);
  const repeat = flag("--repeat", 1);
  const root = await mkdtemp(path.join(os.tmpdir(), "pagoda-bench-upload-"));
  const rows: string[][] = [];
  try {
    for (const sizeMb of sizes.length > 0 ? sizes : [25, 50, 100]) {
      const siteDir = path.join(root, `site-${sizeMb}`);
      await mkdir(siteDir);
      await generateSite(siteDir, sizeMb * MB, files);
      const zip = path.join(root, `site-${sizeMb}.zip`);
      await exec("zip", ["-q", "-r", "-6", zip, "."], { cwd: siteDir, maxBuffer: 1 << 20 });
      await rm(siteDir, { recursive: true });
      const zipBytes = (await stat(zip)).size;

      const ours: RunResult[] = [];
      const base: RunResult[] = [];
      for (let r = 0; r < repeat; r++) {
        const store = path.join(root, `store-${sizeMb}-${r}`);
        ours.push(await runChild(zip, store));
        await rm(store, { recursive: true, force: true });
        const work = path.join(root, `baseline-${sizeMb}-${r}`);
        await mkdir(work);
        base.push(await runBaseline(zip, work));
        await rm(work, { recursive: true, force: true });
      }
      const o = best(ours);
      const b = best(base);
      const mbps = (s: number) => (sizeMb / s).toFixed(1);
      rows.push([
        `${sizeMb} MB / ${files}`,
        `${(zipBytes / MB).toFixed(1)} MB`,
        `${o.seconds.toFixed(2)} s`,
        mbps(o.seconds),
        `${o.cpuSeconds.toFixed(2)} s`,
        `${o.maxRssMiB.toFixed(0)} MiB`,
        `${Math.max(...ours.map((r) => r.maxLoopDelayMs ?? 0)).toFixed(0)} ms`,
        `${b.seconds.toFixed(2)} s`,
        mbps(b.seconds),
        `${b.cpuSeconds.toFixed(2)} s`,
        `${b.maxRssMiB.toFixed(0)} MiB`,
        `${(o.seconds / b.seconds).toFixed(2)}×`,
        `${(o.cpuSeconds / b.cpuSeconds).toFixed(2)}×`,
      ]);
      await rm(zip);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const head = [
    "site / files",
    "zip",
    "pagoda",
    "MB/s",
    "CPU",
    "peak RSS",
    "longest loop stall",
    "baseline",
    "MB/s",
    "CPU",
    "peak RSS",
    "time ratio",
    "CPU ratio",
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(
    `\nUpload pipeline vs. shell baseline (unzip -t; unzip; tar czf; sha256sum), best of ${repeat} by wall time, MB/s of site bytes, load average ${os.loadavg()[0]?.toFixed(1)}`,
  );
  console.log(line(head));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(row));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
